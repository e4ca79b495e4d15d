//! Integration tests: the real server on a random port against real PostgreSQL, driven over
//! HTTP and WebSocket as a client would.

mod economy;
mod games;
mod helpers;
mod users;
mod waitlist;
mod ws;

//! Integration tests: the real server on a random port against real PostgreSQL, driven over
//! HTTP and WebSocket as a client would.

mod admin;
mod crash;
mod economy;
mod economy_ws;
mod faults;
mod games;
mod helpers;
mod realtime;
mod replay;
mod sockets;
mod users;
mod waitlist;
mod ws;

//! The PZO Season 0 server: HTTP and WebSocket gateways, actor shells, the journal and the
//! PostgreSQL store. `main.rs` only parses configuration and calls [`server::start`].

#![forbid(unsafe_code)]

pub mod actors;
pub mod admin;
pub mod admission;
pub mod app;
pub mod auth;
pub mod bus;
pub mod config;
pub mod db;
pub mod directory;
pub mod dispatch;
pub mod docs_pages;
pub mod embedded_pg;
pub mod http;
pub mod journal;
pub mod openapi;
pub mod operations;
pub mod ratelimit;
pub mod runtime;
pub mod server;
pub mod sql;
pub mod store;
pub mod telemetry;
pub mod users;
pub mod ws;

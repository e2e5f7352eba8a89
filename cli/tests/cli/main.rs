//! `shopctl` against a running shop: client commands (with snapshots of their human output),
//! bad arguments, no broker, and `up` surviving a service crash.

mod bad_bytes;
mod bench;
mod client;
mod escaping;
mod guards;
mod helpers;
pub(crate) mod operators;
mod orders;
mod redrive;
mod running;
mod scale;
mod service;
mod status_json;
mod tour;
mod up;
mod usage;
mod watch;

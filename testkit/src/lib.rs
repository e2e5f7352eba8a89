//! Dev-only test kit: the one harness every integration-test suite of the workspace uses, over
//! real `nats-server` processes and real sled stores (no broker is ever mocked).
//!
//! - [`NatsServer`] / [`Cluster`]: a JetStream server on a free loopback port with its own
//!   store (SIGKILL, pause, restart on the same port and store), or three clustered nodes;
//! - [`TestBed`]: a server with the contract's streams, a client, the subjects of one prefix
//!   and a scratch directory (the runtime's tests run the example service on one);
//! - [`TestShop`]: a bed plus the six services in this process, an API client and the
//!   helpers the system and `shopctl` tests share (seed, place, wait for an order's end, wait
//!   until the shop is quiet, read an order's events, stores for the invariants, a service as
//!   a separate process);
//! - [`publish`] and [`streams`]: events onto the streams and back;
//! - [`raw`]: a message with any header block, sent over a plain TCP connection;
//! - [`tls`]: a throwaway CA and server certificate, for the shop over TLS;
//! - [`wait`]: wait on a condition with a timeout instead of sleeping;
//! - [`ChildProcess`]: a binary started by a test, killed or stopped with SIGTERM.
//!
//! Layers, bottom up (`scripts/check_cycles.py` checks): `server`, `process`, `wait`,
//! `publish`, `raw`, `streams`, `tls` → `bed` → `shop` → `calls`.

// dependencies nothing uses are flagged (not in test builds, which also see dev-dependencies)
#![cfg_attr(not(test), warn(unused_crate_dependencies))]

mod bed;
mod calls;
mod process;
pub mod publish;
pub mod raw;
mod server;
mod shop;
pub mod streams;
pub mod tls;
pub mod wait;

pub use bed::{ACK_WAIT_MS, API_TIMEOUT, PREFIX, TestBed};
pub use process::{ChildProcess, wait_until, workspace_binary};
pub use server::{Cluster, NatsServer, free_port, nats_server_binary, workspace_root};
pub use shop::{TestShop, fast_config};

//! Integration tests of the runtime against a real nats-server and real sled stores, using the
//! example service (in-process, or as a child process where it must be killed).

mod alone;
mod bad_bytes;
mod balance;
mod busy;
mod crashes;
mod dead_letters;
mod docs;
mod exactly_once;
mod helpers;
mod hostile_requests;
mod instances;
mod ownership;
mod partitions;
mod routing;
mod srv;
mod takeover;

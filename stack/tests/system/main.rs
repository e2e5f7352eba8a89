//! System tests: all six services against a real nats-server, through their API and events.

mod bad_input;
mod crashes;
mod failures;
mod happy_path;
mod helpers;
mod load;
mod rebuild;

//! System tests: all six services against a real nats-server, through their API and events
//! (the shop, its helpers and waiting come from `testkit`).

mod bad_input;
mod crashes;
mod failures;
mod faults;
mod forgers;
mod forgery;
mod happy_path;
mod hostile;
mod load;
mod pages;
mod parking;
mod permissions;
mod rebuild;
mod reliability;
mod service_tables;
mod tls;

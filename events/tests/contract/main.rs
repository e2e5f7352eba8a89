//! The contract's integration tests: round-trips, decoder robustness, compatibility, golden
//! fixtures and documentation coverage. One test binary for the crate.

mod compat;
mod docs;
mod fixtures;
mod robustness;
mod roundtrip;
mod strategies;

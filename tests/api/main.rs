//! Integration tests: every test runs gateways in-process against a real Redis.

mod cli;
mod docs;
mod engine;
mod helpers;
mod maas;
mod resilience;
mod waiting;

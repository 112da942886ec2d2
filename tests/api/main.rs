//! Integration tests: every test runs gateways in-process against a real Redis.

mod admin;
mod cli;
mod compat;
mod connections;
mod docs;
mod engine;
mod helpers;
mod lockable;
mod maas;
mod resilience;
mod round_trips;
mod synchronize;
mod waiting;

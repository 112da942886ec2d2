//! Integration tests: every test runs gateways in-process against a real Redis.

mod admin;
mod cli;
mod compat;
mod connections;
mod courses;
mod docs;
mod engine;
mod healing;
mod helpers;
mod lockable;
mod maas;
mod resilience;
mod round_trips;
mod sfp;
mod synchronize;
mod tickets;
mod waiting;

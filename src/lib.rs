//! lockgate: a stateless HTTP lock gateway backed by Redis, speaking the APIs of several
//! existing lock services ("dialects") from one engine.
//!
//! # Layout
//!
//! - [`cli`], [`config`], [`telemetry`]: arguments, layered settings, the tracing subscriber.
//!   `main.rs` only wires them to [`startup`].
//! - [`startup`]: [`Application::build`] binds (port 0 works) and assembles every route;
//!   `run_until_stopped` serves until a signal, then drains.
//! - [`embedded`]: a private `redis-server` child, for the zero-configuration default and tests.
//! - [`domain`]: values validated at the edge: [`domain::LockName`], [`domain::Requester`],
//!   [`domain::Token`], lockable plans and their rules.
//! - [`accounts`]: account workflows per dialect, shared by the admin API, the CLI and the
//!   dialects' credential checks.
//! - [`engine`]: the only module that knows Redis. A lock is a resource with one lease and a
//!   FIFO queue of tickets; one Lua script per operation (`lua/`), each with a typed Rust
//!   wrapper in `engine::scripts`; leases (`engine::locks`), tickets (`engine::tickets`), the
//!   blocking wait (`engine::waiting`), withdrawal of requests Redis left unanswered
//!   (`engine::healing`). Key names are built only in `engine::keys`; one pub/sub connection per
//!   process in `engine::notifier`; credentials kept per process and dropped on invalidation in
//!   `engine::credentials`. Outcomes are enums; infrastructure failures are
//!   [`engine::EngineError`].
//! - [`http`]: what dialects share on the HTTP side: the server and its connection limits
//!   (`http::server`), [`http::ApiError`] (the one error type of the layer), request logging and
//!   body limits, mounting an API (`http::mount`), health checks, the Swagger UI page.
//! - [`dialects`]: one file per dialect (`maas.rs`, `lockable.rs`, `synchronize.rs`): parse,
//!   authenticate, call the engine, answer in the dialect's words. `dialects::DIALECTS` is the one
//!   list of them.
//! - [`admin`]: the operator's tools: the admin API and the `lockgate admin` commands, made of
//!   each dialect's part. Only [`dialects`], [`admin`] and [`http`] know poem.

pub mod accounts;
pub mod admin;
pub mod cli;
pub mod config;
pub mod dialects;
pub mod domain;
pub mod embedded;
pub mod engine;
pub mod http;
pub mod startup;
pub mod telemetry;

pub use startup::Application;

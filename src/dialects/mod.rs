//! The dialects: one file each, thin. Each parses and authenticates in its own words, calls the
//! engine, and shapes the answer; lock semantics live in the engine alone.
//!
//! [`DIALECTS`] is the one list of them: startup mounts them, configuration checks their
//! mounts, the docs page and the checked-in documents list them, the admin API and the
//! `lockgate admin` commands are made of their parts, and the tests iterate it.
//! Adding a dialect is a module here, one line in the list, its settings, tests and document.

pub mod courses;
pub mod lockable;
pub mod maas;
pub mod sfp;
pub mod synchronize;

use crate::admin::AdminTools;
use crate::config::Settings;
use crate::engine::Engine;
use crate::http::mount::Mounted;

/// One served API.
pub struct Dialect {
    /// Short name: its settings section, its document's file name under `openapi/`.
    pub name: &'static str,
    /// Where it is mounted, as configured.
    pub mount: fn(&Settings) -> &str,
    /// Its routes and document, configured; `None` when its settings leave it unserved (the
    /// log says why).
    pub api: fn(&Engine, &Settings) -> Option<Mounted>,
    /// Its part of the operator's tools (admin API endpoints, `lockgate admin` commands), if it
    /// has any.
    pub admin: Option<AdminTools>,
}

/// Every dialect lockgate serves.
pub const DIALECTS: &[Dialect] = &[
    maas::DIALECT,
    lockable::DIALECT,
    synchronize::DIALECT,
    sfp::DIALECT,
    courses::DIALECT,
];

/// The admin API: the parts of every dialect that has accounts, merged.
pub fn admin(engine: &Engine, settings: &Settings) -> Option<Mounted> {
    let parts: Vec<_> = DIALECTS
        .iter()
        .filter_map(|dialect| dialect.admin.as_ref()?.api)
        .collect();
    crate::admin::mounted(engine, settings, &parts)
}

/// Every dialect its settings serve, configured, in registry order.
pub fn all(engine: &Engine, settings: &Settings) -> Vec<Mounted> {
    DIALECTS
        .iter()
        .filter_map(|dialect| (dialect.api)(engine, settings))
        .collect()
}

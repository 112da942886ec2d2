//! Command-line interface: `serve`, `openapi`, and the operator's `admin` commands, which call the
//! same account workflows as the admin API.

use std::path::PathBuf;

use clap::{FromArgMatches, Parser, Subcommand};

use crate::admin::AdminTools;
use crate::config::{Overrides, Settings};
use crate::dialects::DIALECTS;

#[derive(Debug, Parser)]
#[command(
    name = "lockgate",
    version,
    about = "HTTP lock gateway backed by Redis"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every dialect over HTTP.
    Serve {
        /// TOML configuration file (see lockgate.example.toml).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Address to listen on, e.g. 0.0.0.0:8080 (overrides server.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Redis URL (overrides redis.url). Without any, a private redis-server is started.
        #[arg(long, value_name = "URL")]
        redis_url: Option<String>,
    },
    /// Write every OpenAPI document into a folder, as checked in under openapi/.
    Openapi {
        #[arg(long, value_name = "DIR", default_value = "openapi")]
        out: PathBuf,
    },
    /// Manage accounts directly in Redis (the admin API's operations, without HTTP).
    Admin {
        /// TOML configuration file (see lockgate.example.toml).
        #[arg(long, value_name = "FILE", global = true)]
        config: Option<PathBuf>,
        /// Redis URL (overrides redis.url); required, from here or the configuration.
        #[arg(long, value_name = "URL", global = true)]
        redis_url: Option<String>,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// `lockgate admin <dialect> ...`: one subcommand per dialect with accounts, from the registry
/// (`dialects::DIALECTS`); each dialect parses and runs its own.
#[derive(Debug, Clone)]
pub struct AdminCommand {
    dialect: String,
    matches: clap::ArgMatches,
}

fn admin_tools() -> impl Iterator<Item = (&'static str, &'static AdminTools)> {
    DIALECTS
        .iter()
        .filter_map(|dialect| Some((dialect.name, dialect.admin.as_ref()?)))
}

impl FromArgMatches for AdminCommand {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand() {
            Some((dialect, matches)) => Ok(Self {
                dialect: dialect.to_owned(),
                matches: matches.clone(),
            }),
            None => Err(clap::Error::new(clap::error::ErrorKind::MissingSubcommand)),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for AdminCommand {
    fn augment_subcommands(command: clap::Command) -> clap::Command {
        admin_tools()
            .fold(command, |command, (_, tools)| {
                command.subcommand((tools.cli)())
            })
            .subcommand_required(true)
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        admin_tools().any(|(dialect, _)| dialect == name)
    }
}

/// Runs an admin command; returns the JSON to print (the admin API's shapes).
pub async fn run_admin(
    config: Option<PathBuf>,
    redis_url: Option<String>,
    command: AdminCommand,
) -> Result<serde_json::Value, String> {
    let overrides = Overrides {
        listen: None,
        redis_url,
    };
    let settings = Settings::load(config.as_deref(), &overrides).map_err(|e| e.to_string())?;
    let tools = admin_tools()
        .find(|(dialect, _)| *dialect == command.dialect)
        .map(|(_, tools)| tools)
        .ok_or_else(|| format!("no admin commands for {}", command.dialect))?;
    (tools.run)(settings, command.matches).await
}

//! Command-line interface: `serve`, `openapi`, and the operator's `admin` commands, which call the
//! same account workflows as the admin API.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use poem_openapi::types::ToJSON;

use crate::accounts::{self, AccountError};
use crate::admin::{
    CreatedLockableAccount, LockableAccountView, RevokedAccount, RevokedUser, SynchronizeUserView,
};
use crate::config::{Overrides, Settings};
use crate::domain::lockable::{AccountChanges, Plan};
use crate::engine::Engine;

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

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Accounts of the lockable dialect.
    #[command(subcommand)]
    Lockable(LockableCommand),
    /// Users of the synchronize dialect (they sign up themselves).
    #[command(subcommand)]
    Synchronize(SynchronizeCommand),
}

#[derive(Debug, Subcommand)]
pub enum SynchronizeCommand {
    /// Print a user with its lock counts.
    ShowUser { user_id: String },
    /// Revoke a user: its API key stops working and its locks are released.
    RevokeUser { user_id: String },
}

#[derive(Debug, Subcommand)]
pub enum LockableCommand {
    /// Create an account; prints it with its token (shown only this once).
    CreateAccount {
        #[arg(long, value_enum)]
        plan: PlanArg,
        /// Lease in seconds (business only).
        #[arg(long)]
        lease_seconds: Option<u64>,
        /// Give the account a namespace of its own (business only).
        #[arg(long)]
        private_namespace: Option<bool>,
        #[arg(long)]
        label: Option<String>,
    },
    /// Print an account.
    ShowAccount { account_id: String },
    /// Change an account; absent options keep their value.
    UpdateAccount {
        account_id: String,
        #[arg(long, value_enum)]
        plan: Option<PlanArg>,
        #[arg(long)]
        lease_seconds: Option<u64>,
        #[arg(long)]
        private_namespace: Option<bool>,
        /// An empty label clears it.
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke an account: its token stops working and its locks are released.
    RevokeAccount { account_id: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlanArg {
    Hobbyist,
    Business,
}

impl From<PlanArg> for Plan {
    fn from(plan: PlanArg) -> Self {
        match plan {
            PlanArg::Hobbyist => Plan::Hobbyist,
            PlanArg::Business => Plan::Business,
        }
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
    if settings.redis.url.is_empty() {
        return Err(
            "admin commands need the gateways' Redis: pass --redis-url or set \
                    LOCKGATE_REDIS__URL (the embedded Redis of `serve` is private to it)"
                .into(),
        );
    }
    let engine = Engine::new(&settings.redis, &settings.redis.url).map_err(|e| e.to_string())?;
    let json = match command {
        AdminCommand::Lockable(command) => lockable(&engine, &settings, command).await,
        AdminCommand::Synchronize(command) => synchronize(&engine, &settings, command).await,
    }
    .map_err(|err| err.to_string())?;
    json.ok_or_else(|| "could not render the result".to_owned())
}

async fn synchronize(
    engine: &Engine,
    settings: &Settings,
    command: SynchronizeCommand,
) -> Result<Option<serde_json::Value>, AccountError> {
    Ok(match command {
        SynchronizeCommand::ShowUser { user_id } => {
            let user =
                accounts::get_synchronize_user(engine, &settings.synchronize, &user_id).await?;
            SynchronizeUserView::from(user).to_json()
        }
        SynchronizeCommand::RevokeUser { user_id } => {
            let released =
                accounts::revoke_synchronize_user(engine, &settings.synchronize, &user_id).await?;
            RevokedUser {
                user_id,
                released_locks: released as u64,
            }
            .to_json()
        }
    })
}

async fn lockable(
    engine: &Engine,
    settings: &Settings,
    command: LockableCommand,
) -> Result<Option<serde_json::Value>, AccountError> {
    let rules = &settings.lockable;
    let json = match command {
        LockableCommand::CreateAccount {
            plan,
            lease_seconds,
            private_namespace,
            label,
        } => {
            let changes = AccountChanges {
                plan: Some(plan.into()),
                lease_seconds,
                private_namespace,
                label,
            };
            let created = accounts::create_lockable(engine, rules, &changes).await?;
            CreatedLockableAccount::from(created).to_json()
        }
        LockableCommand::ShowAccount { account_id } => {
            let account = accounts::get_lockable(engine, &account_id).await?;
            LockableAccountView::from(account).to_json()
        }
        LockableCommand::UpdateAccount {
            account_id,
            plan,
            lease_seconds,
            private_namespace,
            label,
        } => {
            let changes = AccountChanges {
                plan: plan.map(Plan::from),
                lease_seconds,
                private_namespace,
                label,
            };
            let account = accounts::update_lockable(engine, rules, &account_id, &changes).await?;
            LockableAccountView::from(account).to_json()
        }
        LockableCommand::RevokeAccount { account_id } => {
            let released = accounts::revoke_lockable(engine, &account_id).await?;
            RevokedAccount {
                account_id,
                released_locks: released as u64,
            }
            .to_json()
        }
    };
    Ok(json)
}

//! `/lockable/accounts`: lockable accounts, created, inspected, changed and revoked by the
//! operator. The rules live in `domain::lockable`, the workflows in `accounts`.

use clap::{Subcommand, ValueEnum};
use poem::http::StatusCode;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi, Tags};

use super::{AdminAuth, AdminError, AdminPart, AdminTools};
use crate::accounts::{self, Created};
use crate::config::{LockableSettings, Settings};
use crate::domain::lockable::{AccountChanges, LockableAccount, Plan};
use crate::engine::Engine;
use crate::http::respond::{error_from, statuses, Documented};
use crate::http::strict::JsonString;
use crate::http::time::rfc3339_ms;

/// lockable's part of the operator's tools.
pub const TOOLS: AdminTools = AdminTools {
    api: Some(|engine, settings| {
        let api = LockableAccountsApi {
            engine: engine.clone(),
            rules: settings.lockable.clone(),
            token: settings.admin.token.clone(),
        };
        AdminPart::new(&["/lockable"], api, settings)
    }),
    cli: || {
        LockableCommand::augment_subcommands(clap::Command::new("lockable"))
            .about("Accounts of the lockable dialect")
            .subcommand_required(true)
    },
    run: |settings, matches| {
        super::run_command(settings, matches, |engine, settings, command| async move {
            run(&engine, &settings, command).await
        })
    },
};

#[derive(Tags)]
enum LockableTags {
    /// Accounts of the lockable dialect.
    LockableAccounts,
}

pub struct LockableAccountsApi {
    pub engine: Engine,
    pub rules: LockableSettings,
    pub token: String,
}

/// A lockable plan.
#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename = "LockablePlan", rename_all = "lowercase")]
pub enum PlanName {
    /// Fixed lease (60 s by default), public namespace.
    Hobbyist,
    /// Lease set per account, optionally a private namespace.
    Business,
}

impl From<PlanName> for Plan {
    fn from(plan: PlanName) -> Self {
        match plan {
            PlanName::Hobbyist => Plan::Hobbyist,
            PlanName::Business => Plan::Business,
        }
    }
}

impl From<Plan> for PlanName {
    fn from(plan: Plan) -> Self {
        match plan {
            Plan::Hobbyist => PlanName::Hobbyist,
            Plan::Business => PlanName::Business,
        }
    }
}

/// A new account. `leaseSeconds` and `privateNamespace` are for business accounts only.
#[derive(Debug, Object)]
#[oai(
    rename = "NewLockableAccount",
    rename_all = "camelCase",
    deny_unknown_fields
)]
pub struct NewLockableAccount {
    pub plan: PlanName,
    /// Lease length in seconds (business only; default 60).
    pub lease_seconds: Option<u64>,
    /// Resolve the account's lock names in a namespace of its own (business only).
    pub private_namespace: Option<bool>,
    /// A note for the operator, up to 256 bytes.
    pub label: Option<JsonString>,
}

/// Changes to an account; absent fields keep their value. Moving to `hobbyist` resets the lease
/// and the namespace; `label: ""` clears the label.
#[derive(Debug, Object)]
#[oai(
    rename = "LockableAccountPatch",
    rename_all = "camelCase",
    deny_unknown_fields
)]
pub struct LockableAccountPatch {
    pub plan: Option<PlanName>,
    pub lease_seconds: Option<u64>,
    pub private_namespace: Option<bool>,
    pub label: Option<JsonString>,
}

/// An account as stored (never its token).
#[derive(Debug, Object)]
#[oai(rename = "LockableAccount", rename_all = "camelCase")]
pub struct LockableAccountView {
    pub account_id: String,
    pub plan: PlanName,
    pub lease_seconds: u64,
    pub private_namespace: bool,
    pub label: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A new account with its token, shown this once: only a hash of it is stored.
#[derive(Debug, Object)]
#[oai(rename = "CreatedLockableAccount", rename_all = "camelCase")]
pub struct CreatedLockableAccount {
    /// HTTP Basic user name for the lockable API (empty password).
    pub token: String,
    #[oai(flatten)]
    pub account: LockableAccountView,
}

/// A revoked account.
#[derive(Debug, Object)]
#[oai(rename = "RevokedAccount", rename_all = "camelCase")]
pub struct RevokedAccount {
    pub account_id: String,
    /// Locks the account held, released by the revocation.
    pub released_locks: u64,
}

impl From<LockableAccount> for LockableAccountView {
    fn from(account: LockableAccount) -> Self {
        Self {
            account_id: account.id,
            plan: account.plan.into(),
            lease_seconds: account.lease_seconds,
            private_namespace: account.private_namespace,
            label: account.label,
            created_at: rfc3339_ms(account.created_at_ms),
        }
    }
}

impl From<Created> for CreatedLockableAccount {
    fn from(created: Created) -> Self {
        Self {
            token: created.token,
            account: created.account.into(),
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum CreateResponse {
    /// Created; the token is in the body.
    #[oai(status = 201)]
    Created(Json<CreatedLockableAccount>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

#[derive(Debug, ApiResponse)]
pub enum AccountResponse {
    #[oai(status = 200)]
    Ok(Json<LockableAccountView>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

#[derive(Debug, ApiResponse)]
pub enum RevokeResponse {
    /// Revoked: the token fails from now on; the account's locks were released.
    #[oai(status = 200)]
    Ok(Json<RevokedAccount>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

error_from!(super::error_body => CreateResponse, AccountResponse, RevokeResponse);

statuses!(CreateFails:
    400 "invalid fields",
    401 "a missing or wrong admin token",
    413 "a body over the configured limit",
    503 "the store is unavailable",
);
statuses!(ShowFails:
    401 "a missing or wrong admin token",
    404 "no such account",
    503 "the store is unavailable",
);
statuses!(UpdateFails:
    400 "invalid fields",
    401 "a missing or wrong admin token",
    404 "no such account",
    409 "the account kept changing under the update; retry",
    413 "a body over the configured limit",
    503 "the store is unavailable",
);

#[OpenApi(
    prefix_path = "/lockable/accounts",
    tag = "LockableTags::LockableAccounts"
)]
impl LockableAccountsApi {
    /// Create a lockable account
    ///
    /// Answers 201 with the account and its token. The token is shown only here; lockgate keeps
    /// a hash of it.
    #[oai(path = "/", method = "post", operation_id = "createLockableAccount")]
    async fn create(
        &self,
        auth: AdminAuth,
        body: Json<NewLockableAccount>,
    ) -> Documented<CreateResponse, CreateFails> {
        let result = async {
            auth.check(&self.token)?;
            let body = body.0;
            let changes = AccountChanges {
                plan: Some(body.plan.into()),
                lease_seconds: body.lease_seconds,
                private_namespace: body.private_namespace,
                label: body.label.map(|label| label.0),
            };
            Ok(accounts::create_lockable(&self.engine, &self.rules, &changes).await?)
        }
        .await;
        super::respond(result, |created| {
            CreateResponse::Created(Json(created.into()))
        })
    }

    /// Show a lockable account
    #[oai(
        path = "/:accountId",
        method = "get",
        operation_id = "getLockableAccount"
    )]
    async fn show(
        &self,
        auth: AdminAuth,
        #[oai(name = "accountId")] account_id: Path<String>,
    ) -> Documented<AccountResponse, ShowFails> {
        let result = async {
            auth.check(&self.token)?;
            Ok(accounts::get_lockable(&self.engine, &account_id).await?)
        }
        .await;
        super::respond(result, |account| AccountResponse::Ok(Json(account.into())))
    }

    /// Change a lockable account
    ///
    /// The new plan, lease and namespace apply to the next acquire or heartbeat.
    #[oai(
        path = "/:accountId",
        method = "patch",
        operation_id = "updateLockableAccount"
    )]
    async fn update(
        &self,
        auth: AdminAuth,
        #[oai(name = "accountId")] account_id: Path<String>,
        body: Json<LockableAccountPatch>,
    ) -> Documented<AccountResponse, UpdateFails> {
        let result = async {
            auth.check(&self.token)?;
            let body = body.0;
            let changes = AccountChanges {
                plan: body.plan.map(Plan::from),
                lease_seconds: body.lease_seconds,
                private_namespace: body.private_namespace,
                label: body.label.map(|label| label.0),
            };
            Ok(accounts::update_lockable(&self.engine, &self.rules, &account_id, &changes).await?)
        }
        .await;
        super::respond(result, |account| AccountResponse::Ok(Json(account.into())))
    }

    /// Revoke a lockable account
    ///
    /// The token stops working at once and every lock the account holds is released.
    #[oai(
        path = "/:accountId",
        method = "delete",
        operation_id = "revokeLockableAccount"
    )]
    async fn revoke(
        &self,
        auth: AdminAuth,
        #[oai(name = "accountId")] account_id: Path<String>,
    ) -> Documented<RevokeResponse, ShowFails> {
        let result = async {
            auth.check(&self.token)?;
            Ok(accounts::revoke_lockable(&self.engine, &account_id).await?)
        }
        .await;
        super::respond(result, |released| {
            RevokeResponse::Ok(Json(RevokedAccount {
                account_id: account_id.0.clone(),
                released_locks: released as u64,
            }))
        })
    }
}

/// `lockgate admin lockable ...`: the same operations from the command line.
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

async fn run(
    engine: &Engine,
    settings: &Settings,
    command: LockableCommand,
) -> Result<Option<serde_json::Value>, accounts::AccountError> {
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

//! `/synchronize/users`: synchronize users, created anonymously by clients; the operator looks at
//! them and revokes them.

use clap::Subcommand;
use poem::http::StatusCode;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use super::{AdminAuth, AdminError, AdminPart, AdminTools};
use crate::accounts::{self, SynchronizeUser};
use crate::config::{Settings, SynchronizeSettings};
use crate::engine::Engine;
use crate::http::respond::{error_from, statuses, Documented};
use crate::http::time::rfc3339_ms;
use crate::http::ApiError;

/// synchronize's part of the operator's tools.
pub const TOOLS: AdminTools = AdminTools {
    api: Some(|engine, settings| {
        let api = SynchronizeUsersApi {
            engine: engine.clone(),
            rules: settings.synchronize.clone(),
            token: settings.admin.token.clone(),
        };
        AdminPart::new(&["/synchronize"], api, settings)
    }),
    cli: || {
        SynchronizeCommand::augment_subcommands(clap::Command::new("synchronize"))
            .about("Users of the synchronize dialect (they sign up themselves)")
            .subcommand_required(true)
    },
    run: |settings, matches| {
        super::run_command(settings, matches, |engine, settings, command| async move {
            run(&engine, &settings, command).await
        })
    },
};

#[derive(Tags)]
enum SynchronizeTags {
    /// Users of the synchronize dialect.
    SynchronizeUsers,
}

pub struct SynchronizeUsersApi {
    pub engine: Engine,
    pub rules: SynchronizeSettings,
    pub token: String,
}

/// A synchronize user (never its API key).
#[derive(Debug, Object)]
#[oai(rename = "SynchronizeUser", rename_all = "camelCase")]
pub struct SynchronizeUserView {
    pub user_id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Locks its `GET /v0/locks` lists: held and recently released.
    pub lock_count: u64,
    /// Of those, the ones held now.
    pub held_locks: u64,
}

/// A revoked user.
#[derive(Debug, Object)]
#[oai(rename = "RevokedSynchronizeUser", rename_all = "camelCase")]
pub struct RevokedUser {
    pub user_id: String,
    /// Locks the user held, released by the revocation.
    pub released_locks: u64,
}

impl From<SynchronizeUser> for SynchronizeUserView {
    fn from(user: SynchronizeUser) -> Self {
        Self {
            user_id: user.id,
            created_at: rfc3339_ms(user.created_at_ms),
            lock_count: user.locks as u64,
            held_locks: user.held_locks as u64,
        }
    }
}

#[derive(Debug, ApiResponse)]
pub enum UserResponse {
    #[oai(status = 200)]
    Ok(Json<SynchronizeUserView>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

#[derive(Debug, ApiResponse)]
pub enum RevokeUserResponse {
    /// Revoked: the API key fails from now on; the user's locks were released.
    #[oai(status = 200)]
    Ok(Json<RevokedUser>),
    /// An error; each operation's document lists the statuses it returns.
    Error(StatusCode, Json<AdminError>),
}

error_from!(super::error_body => UserResponse, RevokeUserResponse);

statuses!(UserFails:
    401 "a missing or wrong admin token",
    404 "no such user",
    503 "the store is unavailable",
);

#[OpenApi(
    prefix_path = "/synchronize/users",
    tag = "SynchronizeTags::SynchronizeUsers"
)]
impl SynchronizeUsersApi {
    /// Show a synchronize user
    #[oai(path = "/:userId", method = "get", operation_id = "getSynchronizeUser")]
    async fn show(
        &self,
        auth: AdminAuth,
        #[oai(name = "userId")] user_id: Path<String>,
    ) -> Documented<UserResponse, UserFails> {
        let result = async {
            auth.check(&self.token)?;
            Ok::<_, ApiError>(
                accounts::get_synchronize_user(&self.engine, &self.rules, &user_id).await?,
            )
        }
        .await;
        super::respond(result, |user| UserResponse::Ok(Json(user.into())))
    }

    /// Revoke a synchronize user
    ///
    /// The API key stops working at once and every lock the user holds is released.
    #[oai(
        path = "/:userId",
        method = "delete",
        operation_id = "revokeSynchronizeUser"
    )]
    async fn revoke(
        &self,
        auth: AdminAuth,
        #[oai(name = "userId")] user_id: Path<String>,
    ) -> Documented<RevokeUserResponse, UserFails> {
        let result = async {
            auth.check(&self.token)?;
            Ok::<_, ApiError>(
                accounts::revoke_synchronize_user(&self.engine, &self.rules, &user_id).await?,
            )
        }
        .await;
        super::respond(result, |released| {
            RevokeUserResponse::Ok(Json(RevokedUser {
                user_id: user_id.0.clone(),
                released_locks: released as u64,
            }))
        })
    }
}

/// `lockgate admin synchronize ...`: the same operations from the command line.
#[derive(Debug, Subcommand)]
pub enum SynchronizeCommand {
    /// Print a user with its lock counts.
    ShowUser { user_id: String },
    /// Revoke a user: its API key stops working and its locks are released.
    RevokeUser { user_id: String },
}

async fn run(
    engine: &Engine,
    settings: &Settings,
    command: SynchronizeCommand,
) -> Result<Option<serde_json::Value>, accounts::AccountError> {
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

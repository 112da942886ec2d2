//! sfp's part of the operator's tools: no accounts (its callers come with tokens from an
//! identity provider), only `lockgate admin sfp token`, which mints a token with the configured
//! HS256 secret, for operators and for trying the API.

use std::time::Duration;

use clap::Subcommand;
use serde_json::json;

use super::AdminTools;
use crate::accounts::mint_sfp_token;

/// sfp's part of the operator's tools.
pub const TOOLS: AdminTools = AdminTools {
    api: None,
    cli: || {
        SfpCommand::augment_subcommands(clap::Command::new("sfp"))
            .about("Tokens of the sfp dialect")
            .subcommand_required(true)
    },
    run: |settings, matches| {
        Box::pin(async move {
            let command = <SfpCommand as clap::FromArgMatches>::from_arg_matches(&matches)
                .map_err(|e| e.to_string())?;
            match command {
                SfpCommand::Token {
                    sub,
                    role,
                    ttl_seconds,
                } => {
                    let ttl = Duration::from_secs(ttl_seconds);
                    let token = mint_sfp_token(&settings.sfp, &sub, &role, ttl)?;
                    Ok(
                        json!({"token": token, "sub": sub, "role": role, "expiresInSeconds": ttl_seconds}),
                    )
                }
            }
        })
    },
};

#[derive(Debug, Subcommand)]
pub enum SfpCommand {
    /// Mint an HS256 token with sfp.jwt_secret; needs no Redis.
    Token {
        /// The token's subject (`sub`): the requestor of the tickets it queues.
        #[arg(long)]
        sub: String,
        /// Written at the sfp.role_claim path; `owner` or `application` may use the API.
        #[arg(long, default_value = "application")]
        role: String,
        /// How long the token is valid.
        #[arg(long, default_value_t = 3600)]
        ttl_seconds: u64,
    },
}

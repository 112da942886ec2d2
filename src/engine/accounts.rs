//! Account records: settings as string fields, a secret's hash, and the index of the locks the
//! account may hold. What the fields mean is the domain's business (`domain::lockable`); here is
//! only how they are stored, checked and revoked.

use std::collections::HashMap;

use super::credentials::{Credential, NOTE_REFRESH};
use super::scripts::authenticate::Authenticate;
use super::scripts::create_account::CreateAccount;
use super::scripts::revoke_account::RevokeAccount;
use super::scripts::update_account::UpdateAccount;
use super::{millis, Call, Engine, EngineError};

/// A stored account, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub fields: HashMap<String, String>,
    /// SHA-256 of the account's secret (empty where the script withholds it).
    pub secret_hash: String,
    pub created_at_ms: i64,
    /// Bumped by every update; updates check it so concurrent ones cannot overwrite each other.
    pub rev: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountUpdate {
    Updated,
    Missing,
    /// Changed since it was read: read again and retry.
    Conflict,
}

impl Engine {
    /// Stores a new account, for good or for `lifetime` (its record then has `expires_ms`);
    /// returns its creation time (Redis ms), or `None` when the id is taken.
    pub async fn create_account(
        &self,
        kind: &str,
        id: &str,
        secret_hash: &str,
        lifetime: Option<std::time::Duration>,
        fields: &[(&str, String)],
    ) -> Result<Option<i64>, EngineError> {
        let keys = self.keys().account(kind, id);
        self.run_script(&CreateAccount {
            keys: &keys,
            secret_hash,
            lifetime,
            fields,
        })
        .await
    }

    pub async fn account(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<AccountRecord>, EngineError> {
        let keys = self.keys().account(kind, id);
        let fields: HashMap<String, String> = self
            .command("account", redis::cmd("HGETALL").arg(&keys.record))
            .await?;
        Ok(record(fields))
    }

    /// Sets `fields` if the account is still at revision `rev`.
    pub async fn update_account(
        &self,
        kind: &str,
        id: &str,
        rev: u64,
        fields: &[(&str, String)],
    ) -> Result<AccountUpdate, EngineError> {
        let keys = self.keys().account(kind, id);
        let channel = self.keys().credentials_channel();
        self.run_script(&UpdateAccount {
            keys: &keys,
            channel: &channel,
            id,
            rev,
            fields,
        })
        .await
    }

    /// Deletes the account, so its credential fails from now on. Returns the entries of its
    /// held-locks index (for the caller to release), or `None` when there is no such account.
    pub async fn delete_account(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<Vec<String>>, EngineError> {
        let keys = self.keys().account(kind, id);
        let channel = self.keys().credentials_channel();
        self.run_script(&RevokeAccount {
            keys: &keys,
            channel: &channel,
            id,
        })
        .await
    }

    /// The account whose secret hashes to `secret_hash`, or `None`. When `about` is given (a lock
    /// the request acts on), notes it in the account's held-locks index for `keep_ms`.
    pub async fn authenticate(
        &self,
        kind: &str,
        id: &str,
        secret_hash: &str,
        about: Option<&str>,
        keep_ms: u64,
    ) -> Result<Option<AccountRecord>, EngineError> {
        let keys = self.keys().account(kind, id);
        let fields = self
            .run_script(&Authenticate {
                keys: &keys,
                secret_hash,
                about,
                keep_ms,
            })
            .await?;
        Ok(record(fields))
    }
}

/// Credential checks that use this gateway's cache (see `credentials.rs`): one round trip less.
impl Engine {
    /// [`Engine::authenticate`], answered from the cache when it can be trusted. `about` is still
    /// noted in the account's index the first time this gateway sees it for the account (and
    /// again after [`NOTE_REFRESH`]), in a task of its own, off the request's path.
    pub async fn check_account(
        &self,
        kind: &str,
        id: &str,
        secret_hash: &str,
        about: Option<&str>,
        keep_ms: u64,
    ) -> Result<Option<Credential>, EngineError> {
        let cache = &self.inner.credentials;
        let key = format!("{kind}:{id}:{secret_hash}");
        let keep_ms = keep_ms.saturating_add(millis(NOTE_REFRESH));
        if let Some(credential) = cache.get(&key) {
            if let Some(name) = about.filter(|name| cache.needs_note(&key, name)) {
                let (engine, kind, id, hash, name) = (
                    self.clone(),
                    kind.to_owned(),
                    id.to_owned(),
                    secret_hash.to_owned(),
                    name.to_owned(),
                );
                tokio::spawn(async move {
                    let noted = engine.authenticate(&kind, &id, &hash, Some(&name), keep_ms);
                    if let Err(err) = noted.await {
                        tracing::warn!(error = %err, "could not note a lock in its account's index");
                        engine.inner.credentials.unnote(&key, &name);
                    }
                });
            }
            return Ok(Some(credential));
        }
        let ticket = cache.ticket();
        let Some(record) = self
            .authenticate(kind, id, secret_hash, about, keep_ms)
            .await?
        else {
            return Ok(None);
        };
        let credential = Credential {
            account_id: id.to_owned(),
            fields: std::sync::Arc::new(record.fields),
            created_at_ms: record.created_at_ms,
        };
        if let Some(ticket) = ticket {
            cache.fill(ticket, &key, credential.clone());
            if let Some(name) = about {
                cache.needs_note(&key, name);
            }
        }
        Ok(Some(credential))
    }

    /// [`Engine::resolve_credential`], answered from the cache when it can be trusted.
    pub async fn check_credential(
        &self,
        kind: &str,
        secret_hash: &str,
    ) -> Result<Option<String>, EngineError> {
        let cache = &self.inner.credentials;
        let key = format!("{kind}:{secret_hash}");
        if let Some(credential) = cache.get(&key) {
            return Ok(Some(credential.account_id));
        }
        let ticket = cache.ticket();
        let Some(id) = self.resolve_credential(kind, secret_hash).await? else {
            return Ok(None);
        };
        if let Some(ticket) = ticket {
            let credential = Credential {
                account_id: id.clone(),
                fields: Default::default(),
                created_at_ms: 0,
            };
            cache.fill(ticket, &key, credential);
        }
        Ok(Some(id))
    }
}

/// Credentials that carry no account id (synchronize's API keys) are found through a link from
/// their hash to the account.
impl Engine {
    /// Links a credential's hash to account `id`; `false` if the hash is linked already.
    pub async fn link_credential(
        &self,
        kind: &str,
        secret_hash: &str,
        id: &str,
    ) -> Result<bool, EngineError> {
        let key = self.keys().credential(kind, secret_hash);
        let set: Option<String> = self
            .command(
                "link_credential",
                redis::cmd("SET").arg(&key).arg(id).arg("NX"),
            )
            .await?;
        Ok(set.is_some())
    }

    /// The account a credential's hash is linked to.
    pub async fn resolve_credential(
        &self,
        kind: &str,
        secret_hash: &str,
    ) -> Result<Option<String>, EngineError> {
        let key = self.keys().credential(kind, secret_hash);
        self.command("resolve_credential", redis::cmd("GET").arg(&key))
            .await
    }

    /// Unlinks a credential of account `id`: it fails from the next request on, on every
    /// gateway (the unlink and its announcement are one transaction).
    pub async fn unlink_credential(
        &self,
        kind: &str,
        secret_hash: &str,
        id: &str,
    ) -> Result<(), EngineError> {
        let key = self.keys().credential(kind, secret_hash);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&key)
            .ignore()
            .publish(self.keys().credentials_channel(), id)
            .ignore();
        let (): () = self
            .call("unlink_credential", Call::Pipeline(&pipe))
            .await?;
        Ok(())
    }
}

fn record(mut fields: HashMap<String, String>) -> Option<AccountRecord> {
    let created_at_ms = fields.remove("created_ms")?.parse().ok()?;
    let rev = fields.remove("rev")?.parse().ok()?;
    let secret_hash = fields.remove("secret_sha256").unwrap_or_default();
    Some(AccountRecord {
        fields,
        secret_hash,
        created_at_ms,
        rev,
    })
}

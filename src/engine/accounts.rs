//! Account records: settings as string fields, a secret's hash, and the index of the locks the
//! account may hold. What the fields mean is the domain's business (`domain::lockable`); here is
//! only how they are stored, checked and revoked.

use std::collections::HashMap;
use std::time::Duration;

use super::{scripts, Engine, EngineError};

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
    /// Stores a new account; returns its creation time (Redis ms), or `None` when the id is
    /// taken.
    pub async fn create_account(
        &self,
        kind: &str,
        id: &str,
        secret_hash: &str,
        fields: &[(&str, String)],
    ) -> Result<Option<i64>, EngineError> {
        let keys = self.keys().account(kind, id);
        let mut invocation = scripts::CREATE_ACCOUNT.prepare_invoke();
        invocation.key(&keys.record).arg(secret_hash);
        for (field, value) in fields {
            invocation.arg(*field).arg(value);
        }
        let created: i64 = self.invoke(&invocation).await?;
        Ok((created != 0).then_some(created))
    }

    pub async fn account(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<AccountRecord>, EngineError> {
        let keys = self.keys().account(kind, id);
        let fields: HashMap<String, String> = self
            .command(redis::cmd("HGETALL").arg(&keys.record))
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
        let mut invocation = scripts::UPDATE_ACCOUNT.prepare_invoke();
        invocation.key(&keys.record).arg(rev);
        for (field, value) in fields {
            invocation.arg(*field).arg(value);
        }
        let status: String = self.invoke(&invocation).await?;
        match status.as_str() {
            "updated" => Ok(AccountUpdate::Updated),
            "missing" => Ok(AccountUpdate::Missing),
            "conflict" => Ok(AccountUpdate::Conflict),
            other => Err(EngineError::Protocol(format!(
                "update_account returned {other:?}"
            ))),
        }
    }

    /// Deletes the account, so its credential fails from now on. Returns the entries of its
    /// held-locks index (for the caller to release), or `None` when there is no such account.
    pub async fn delete_account(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<Vec<String>>, EngineError> {
        let keys = self.keys().account(kind, id);
        let mut invocation = scripts::REVOKE_ACCOUNT.prepare_invoke();
        invocation.key(&keys.record).key(&keys.held);
        let reply: Vec<String> = self.invoke(&invocation).await?;
        match reply.split_first() {
            Some((status, held)) if status == "revoked" => Ok(Some(held.to_vec())),
            Some((status, _)) if status == "missing" => Ok(None),
            _ => Err(EngineError::Protocol(format!(
                "revoke_account returned {reply:?}"
            ))),
        }
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
        let mut invocation = scripts::AUTHENTICATE.prepare_invoke();
        invocation
            .key(&keys.record)
            .key(&keys.held)
            .arg(secret_hash)
            .arg(about.unwrap_or_default())
            .arg(keep_ms);
        let fields: HashMap<String, String> = self.invoke(&invocation).await?;
        Ok(record(fields))
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
            .command(redis::cmd("SET").arg(&key).arg(id).arg("NX"))
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
        self.command(redis::cmd("GET").arg(&key)).await
    }

    /// Unlinks a credential: it fails from the next request on.
    pub async fn unlink_credential(
        &self,
        kind: &str,
        secret_hash: &str,
    ) -> Result<(), EngineError> {
        let key = self.keys().credential(kind, secret_hash);
        let _: i64 = self.command(redis::cmd("DEL").arg(&key)).await?;
        Ok(())
    }

    /// Counts a hit in `bucket`'s current window of `window`; returns the hits so far in it and
    /// the ms until it ends. Counted in Redis, so all gateways share the count.
    pub async fn count_hit(
        &self,
        bucket: &str,
        window: Duration,
    ) -> Result<(u64, u64), EngineError> {
        let mut invocation = scripts::COUNT_HIT.prepare_invoke();
        invocation
            .key(self.keys().rate(bucket))
            .arg(u64::try_from(window.as_millis()).unwrap_or(u64::MAX));
        self.invoke(&invocation).await
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

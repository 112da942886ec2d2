//! synchronize users: anonymous sign-up hands out an API key (a random UUID, stored only as a
//! SHA-256); each user's locks live in a grouped namespace of its own.

use std::time::Duration;

use super::AccountError;
use crate::config::SynchronizeSettings;
use crate::domain::{sha256_hex, LockName};
use crate::engine::{Engine, EngineError, LockRef, Namespace, Release};

/// Account kind of synchronize users in Redis.
const SYNCHRONIZE: &str = "synchronize";

/// A user as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynchronizeUser {
    pub id: String,
    pub created_at_ms: i64,
    /// Locks listed by `GET /v0/locks`: held ones and retained released ones.
    pub locks: usize,
    pub held_locks: usize,
}

/// Creates an anonymous user; returns its id and API key (shown once).
pub async fn create_synchronize_user(engine: &Engine) -> Result<(String, String), AccountError> {
    let id = uuid::Uuid::new_v4().to_string();
    let api_key = uuid::Uuid::new_v4().to_string();
    let hash = sha256_hex(&api_key);
    if engine
        .create_account(SYNCHRONIZE, &id, &hash, None, &[])
        .await?
        .is_none()
        || !engine.link_credential(SYNCHRONIZE, &hash, &id).await?
    {
        return Err(
            EngineError::Inconsistent(format!("user id or key for {id} already taken")).into(),
        );
    }
    Ok((id, api_key))
}

/// The user an API key belongs to, if it is a live one.
pub async fn authenticate_synchronize(
    engine: &Engine,
    api_key: &str,
) -> Result<Option<String>, EngineError> {
    engine
        .check_credential(SYNCHRONIZE, &sha256_hex(api_key))
        .await
}

/// A lock of `user`'s namespace.
pub fn synchronize_lock(
    rules: &SynchronizeSettings,
    user: &str,
    name: LockName,
) -> Result<LockRef, EngineError> {
    Ok(synchronize_namespace(rules, user)?.lock(name))
}

pub async fn get_synchronize_user(
    engine: &Engine,
    rules: &SynchronizeSettings,
    id: &str,
) -> Result<SynchronizeUser, AccountError> {
    let record = engine
        .account(SYNCHRONIZE, id)
        .await?
        .ok_or_else(|| AccountError::NotFound(id.to_owned()))?;
    let locks = engine.list(&synchronize_namespace(rules, id)?).await?;
    Ok(SynchronizeUser {
        id: id.to_owned(),
        created_at_ms: record.created_at_ms,
        held_locks: locks.iter().filter(|l| l.locked).count(),
        locks: locks.len(),
    })
}

/// Revokes the API key at once, then releases the user's locks; returns how many.
pub async fn revoke_synchronize_user(
    engine: &Engine,
    rules: &SynchronizeSettings,
    id: &str,
) -> Result<usize, AccountError> {
    let record = engine
        .account(SYNCHRONIZE, id)
        .await?
        .ok_or_else(|| AccountError::NotFound(id.to_owned()))?;
    engine
        .unlink_credential(SYNCHRONIZE, &record.secret_hash, id)
        .await?;
    let mut released = 0;
    for lock in engine.list(&synchronize_namespace(rules, id)?).await? {
        let Ok(name) = LockName::parse(&lock.name) else {
            continue;
        };
        if lock.locked
            && engine
                .release(&synchronize_lock(rules, id, name)?, &lock.owner)
                .await?
                == Release::Released
        {
            released += 1;
        }
    }
    engine.delete_account(SYNCHRONIZE, id).await?;
    Ok(released)
}

/// The grouped namespace of `user`'s locks.
pub fn synchronize_namespace(
    rules: &SynchronizeSettings,
    user: &str,
) -> Result<Namespace, EngineError> {
    let retention = Duration::from_secs(rules.retention_seconds);
    Ok(Namespace::group(SYNCHRONIZE, user, retention)?)
}

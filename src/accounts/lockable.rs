//! lockable accounts: created, changed and revoked by the operator, checked on every request.

use super::AccountError;
use crate::config::LockableSettings;
use crate::domain::lockable::{AccountChanges, LockableAccount};
use crate::domain::{LockName, Token};
use crate::engine::{AccountRecord, AccountUpdate, Engine, EngineError, Namespace, Release};

/// Account kind of lockable accounts in Redis.
const LOCKABLE: &str = "lockable";

/// How often an update is retried when another one landed between its read and its write.
const UPDATE_ATTEMPTS: usize = 5;

/// A new account and its token, which is shown this once and never stored.
#[derive(Debug, Clone)]
pub struct Created {
    pub account: LockableAccount,
    pub token: String,
}

pub async fn create_lockable(
    engine: &Engine,
    rules: &LockableSettings,
    changes: &AccountChanges,
) -> Result<Created, AccountError> {
    let terms = LockableAccount::apply(None, changes, rules)?;
    let id = uuid::Uuid::new_v4().to_string();
    let token = Token::generate(&id)?;
    // A v4 UUID never repeats in practice; a taken id would only mean a bug, so say so.
    let created_at_ms = engine
        .create_account(
            LOCKABLE,
            &id,
            &token.secret_hash(),
            None,
            &terms.to_fields(),
        )
        .await?
        .ok_or_else(|| EngineError::Inconsistent(format!("account id {id} already taken")))?;
    let account = LockableAccount {
        id,
        plan: terms.plan,
        lease_seconds: terms.lease_seconds,
        private_namespace: terms.private_namespace,
        label: terms.label,
        created_at_ms,
    };
    Ok(Created {
        account,
        token: token.reveal(),
    })
}

pub async fn get_lockable(engine: &Engine, id: &str) -> Result<LockableAccount, AccountError> {
    let record = engine
        .account(LOCKABLE, id)
        .await?
        .ok_or_else(|| AccountError::NotFound(id.to_owned()))?;
    decode(id, &record)
}

pub async fn update_lockable(
    engine: &Engine,
    rules: &LockableSettings,
    id: &str,
    changes: &AccountChanges,
) -> Result<LockableAccount, AccountError> {
    for _ in 0..UPDATE_ATTEMPTS {
        let record = engine
            .account(LOCKABLE, id)
            .await?
            .ok_or_else(|| AccountError::NotFound(id.to_owned()))?;
        let current = decode(id, &record)?;
        let terms = LockableAccount::apply(Some(&current), changes, rules)?;
        match engine
            .update_account(LOCKABLE, id, record.rev, &terms.to_fields())
            .await?
        {
            AccountUpdate::Updated => return get_lockable(engine, id).await,
            AccountUpdate::Missing => return Err(AccountError::NotFound(id.to_owned())),
            AccountUpdate::Conflict => continue,
        }
    }
    Err(AccountError::Contended)
}

/// Deletes the account (its token fails from now on) and releases its locks; returns how many.
pub async fn revoke_lockable(engine: &Engine, id: &str) -> Result<usize, AccountError> {
    let held = engine
        .delete_account(LOCKABLE, id)
        .await?
        .ok_or_else(|| AccountError::NotFound(id.to_owned()))?;
    let mut released = 0;
    for name in held.iter().filter_map(|n| LockName::parse(n).ok()) {
        // The plan may have moved the account between namespaces: try both.
        for namespace in [public_namespace(), private_namespace(id)?] {
            let lock = namespace.lock(name.clone());
            if engine.release(&lock, id).await? == Release::Released {
                released += 1;
            }
        }
    }
    Ok(released)
}

/// The account a lockable token belongs to, if the token is good. `about` is the lock the
/// request acts on, noted so that revoking the account can release it.
pub async fn authenticate_lockable(
    engine: &Engine,
    rules: &LockableSettings,
    presented: &str,
    about: Option<&LockName>,
) -> Result<Option<LockableAccount>, EngineError> {
    let Some(token) = Token::parse(presented) else {
        return Ok(None);
    };
    let keep_ms = rules
        .max_business_lease_seconds
        .max(rules.hobbyist_lease_seconds)
        .saturating_mul(1000);
    let credential = engine
        .check_account(
            LOCKABLE,
            &token.account_id,
            &token.secret_hash(),
            about.map(LockName::as_str),
            keep_ms,
        )
        .await?;
    Ok(credential.and_then(|credential| {
        LockableAccount::from_fields(
            &token.account_id,
            &credential.fields,
            credential.created_at_ms,
        )
    }))
}

/// The namespace a lockable account's names resolve in.
pub fn lockable_namespace(account: &LockableAccount) -> Result<Namespace, EngineError> {
    if account.private_namespace {
        private_namespace(&account.id)
    } else {
        Ok(public_namespace())
    }
}

fn public_namespace() -> Namespace {
    Namespace::shared(LOCKABLE)
}

fn private_namespace(id: &str) -> Result<Namespace, EngineError> {
    Ok(Namespace::account(LOCKABLE, id)?)
}

fn decode(id: &str, record: &AccountRecord) -> Result<LockableAccount, AccountError> {
    LockableAccount::from_fields(id, &record.fields, record.created_at_ms).ok_or_else(|| {
        EngineError::Inconsistent(format!("account {id} has an unreadable record")).into()
    })
}

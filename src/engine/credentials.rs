//! Credentials this gateway has checked, kept so that an authenticated request costs one Redis
//! round trip (the lock's script) instead of two (credential, then lock).
//!
//! Trust comes from pub/sub, not from a timer: every script that changes or revokes an account
//! publishes its id on the credentials channel, and every gateway drops that account's entries
//! when the message arrives (well within 100 ms of the change's reply). Entries are believed only
//! while this process's pub/sub connection is up and subscribed, and only if they were filled on
//! that same connection: while it is down nothing is cached, and after a reconnect (messages may
//! have been missed) everything is checked afresh. `MAX_AGE` bounds the damage of a connection
//! that died without anyone noticing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::notifier::{Link, Notifier, WAKE_ALL};

/// The longest an entry is believed without being checked in Redis again.
const MAX_AGE: Duration = Duration::from_secs(60);
/// Entries at most; past it the cache starts over (the next request of each account refills it).
const MAX_ENTRIES: usize = 100_000;
/// Lock names remembered as noted per entry (see [`CredentialCache::needs_note`]).
const MAX_NOTED: usize = 4096;
/// How long a lock name noted in an account's index is not noted again by this gateway.
pub const NOTE_REFRESH: Duration = Duration::from_secs(600);

/// What a checked credential resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub account_id: String,
    /// The account's settings as stored (field → value), for dialects that need them.
    pub fields: Arc<HashMap<String, String>>,
    /// When the account was created, Redis ms (0 where unknown).
    pub created_at_ms: i64,
}

struct Entry {
    credential: Credential,
    /// The pub/sub connection it was filled on.
    link: u64,
    filled: Instant,
    /// Lock names noted in the account's index, and when.
    noted: HashMap<String, Instant>,
}

#[derive(Default)]
struct State {
    /// `<kind>:<secret hash>` → entry.
    entries: HashMap<String, Entry>,
    /// Bumped by every invalidation, so a fill that raced one is not kept.
    epoch: u64,
}

/// Proof that a fill started while the link was up and no invalidation has come since.
pub struct FillTicket {
    link: u64,
    epoch: u64,
}

pub struct CredentialCache {
    state: Mutex<State>,
    notifier: Notifier,
    channel: String,
    watching: AtomicBool,
    /// The channel's first SUBSCRIBE was confirmed (reconnections subscribe before going up).
    subscribed: AtomicBool,
}

impl CredentialCache {
    pub fn new(notifier: Notifier, channel: String) -> Self {
        Self {
            state: Mutex::new(State::default()),
            notifier,
            channel,
            watching: AtomicBool::new(false),
            subscribed: AtomicBool::new(false),
        }
    }

    fn up(&self) -> Option<u64> {
        if !self.subscribed.load(Ordering::Acquire) {
            return None;
        }
        match self.notifier.link() {
            Link::Up(n) => Some(n),
            Link::Down => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The credential `key` stands for, if it was checked on the current pub/sub connection and
    /// nothing has invalidated it since.
    pub fn get(self: &Arc<Self>, key: &str) -> Option<Credential> {
        self.watch();
        let link = self.up()?;
        let state = self.lock();
        let entry = state.entries.get(key)?;
        (entry.link == link && entry.filled.elapsed() < MAX_AGE).then(|| entry.credential.clone())
    }

    /// Call before checking a credential in Redis; `None` while nothing can be cached.
    pub fn ticket(self: &Arc<Self>) -> Option<FillTicket> {
        self.watch();
        let link = self.up()?;
        Some(FillTicket {
            link,
            epoch: self.lock().epoch,
        })
    }

    /// Keeps what Redis said of `key`, unless the connection changed or an invalidation came
    /// while it was being checked.
    pub fn fill(&self, ticket: FillTicket, key: &str, credential: Credential) {
        if self.up() != Some(ticket.link) {
            return;
        }
        let mut state = self.lock();
        if state.epoch != ticket.epoch {
            return;
        }
        if state.entries.len() >= MAX_ENTRIES {
            state.entries.clear();
        }
        state.entries.insert(
            key.to_owned(),
            Entry {
                credential,
                link: ticket.link,
                filled: Instant::now(),
                noted: HashMap::new(),
            },
        );
    }

    /// Whether `name` must be noted in the account's index by this request: not noted through
    /// this entry within [`NOTE_REFRESH`]. Marks it noted.
    pub fn needs_note(&self, key: &str, name: &str) -> bool {
        let mut state = self.lock();
        let Some(entry) = state.entries.get_mut(key) else {
            return true;
        };
        let now = Instant::now();
        if let Some(at) = entry.noted.get(name) {
            if now.duration_since(*at) < NOTE_REFRESH {
                return false;
            }
        }
        if entry.noted.len() >= MAX_NOTED {
            entry.noted.clear();
        }
        entry.noted.insert(name.to_owned(), now);
        true
    }

    /// Forgets what a note attempt marked, after it failed.
    pub fn unnote(&self, key: &str, name: &str) {
        if let Some(entry) = self.lock().entries.get_mut(key) {
            entry.noted.remove(name);
        }
    }

    fn invalidate(&self, account_id: &str) {
        let mut state = self.lock();
        state.epoch += 1;
        if account_id == WAKE_ALL {
            state.entries.clear();
        } else {
            state
                .entries
                .retain(|_, entry| entry.credential.account_id != account_id);
        }
    }

    /// Starts listening to the credentials channel, once, on first use (it needs a runtime).
    fn watch(self: &Arc<Self>) {
        if self.watching.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        let notifier = self.notifier.clone();
        let channel = self.channel.clone();
        tokio::spawn(async move {
            let mut subscription = loop {
                match notifier.subscribe(&channel).await {
                    Ok(subscription) => {
                        if let Some(cache) = weak.upgrade() {
                            cache.subscribed.store(true, Ordering::Release);
                        }
                        break subscription;
                    }
                    Err(err) => {
                        tracing::debug!(error = %err, "credentials channel: retrying");
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            };
            while let Some(account_id) = subscription.next_message().await {
                let Some(cache) = weak.upgrade() else {
                    return;
                };
                cache.invalidate(&account_id);
            }
        });
    }
}

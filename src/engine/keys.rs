//! Every Redis key and channel name lockgate uses is built here, so the layout is in one place.
//!
//! A lock's keys look like `<prefix>:{<namespace>:<name>}:<part>`. The braces are a Redis Cluster
//! hash tag: all keys of one lock land in one slot, which is what lets one Lua script touch them
//! all. The prefix may not contain braces (checked in configuration), so the tag always starts at
//! the brace written here; a `}` inside a name only ends the tag early, identically for all of
//! that lock's keys, so they still share a slot.
//!
//! A *grouped* namespace (e.g. one account's locks) tags by the namespace instead:
//! `<prefix>:{<namespace>}:<name>:<part>`, plus `<prefix>:{<namespace>}:index`, a sorted set of
//! the group's lock names by last change. Every lock of the group shares one slot with the index,
//! so scripts keep it exact and listing needs no scan. Its locks also keep a record (`:info`)
//! that outlives their lease by a retention. Namespaces of a group must not contain `}`.

use std::time::Duration;

use crate::domain::LockName;

/// Where locks live: a dialect's one shared namespace, or one account's own (independent locks,
/// or a listable group). Only this module builds the tag, from the dialect's name and an
/// account id it checked, so every namespace's keys have one layout and no id can break the
/// hash tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    tag: String,
    /// Listable, with records kept this long after a lease ends: keys tagged by namespace,
    /// with an index (see the module doc). `None` for locks of their own.
    group_retention: Option<Duration>,
}

/// An account id that cannot name a namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("account id {0:?} cannot name a namespace (empty, or contains a brace)")]
pub struct NamespaceError(String);

impl Namespace {
    /// A dialect's shared namespace (maas's, lockable's public one).
    pub fn shared(dialect: &'static str) -> Self {
        Self {
            tag: dialect.to_owned(),
            group_retention: None,
        }
    }

    /// One account's namespace of independent locks (a lockable private namespace).
    pub fn account(dialect: &'static str, account: &str) -> Result<Self, NamespaceError> {
        Ok(Self {
            tag: account_tag(dialect, account)?,
            group_retention: None,
        })
    }

    /// One account's listable group of locks, whose records stay `retention` after their lease
    /// ended (a synchronize user's locks).
    pub fn group(
        dialect: &'static str,
        account: &str,
        retention: Duration,
    ) -> Result<Self, NamespaceError> {
        Ok(Self {
            tag: account_tag(dialect, account)?,
            group_retention: Some(retention),
        })
    }

    /// The lock `name` of this namespace.
    pub fn lock(&self, name: LockName) -> LockRef {
        LockRef {
            namespace: self.clone(),
            name,
            ticket_retention: Duration::ZERO,
        }
    }

    pub fn is_group(&self) -> bool {
        self.group_retention.is_some()
    }
}

fn account_tag(dialect: &'static str, account: &str) -> Result<String, NamespaceError> {
    if account.is_empty() || account.contains(['{', '}']) {
        return Err(NamespaceError(account.to_owned()));
    }
    Ok(joined(&[dialect, "-account-", account]))
}

/// Which lock, in which namespace. Two namespaces never share a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRef {
    pub namespace: Namespace,
    /// The name the client gave.
    pub name: LockName,
    /// How long released tickets stay listed; zero keeps none.
    pub ticket_retention: Duration,
}

impl LockRef {
    /// The same lock, keeping the records of released tickets for `retention`.
    pub fn keeping_tickets(self, retention: Duration) -> Self {
        Self {
            ticket_retention: retention,
            ..self
        }
    }
}

/// The key names of one lock (resource), in the order every lock script takes them (see
/// `lua/_prelude.lua`).
#[derive(Debug, Clone)]
pub struct LockKeys {
    pub lease: String,
    pub queue: String,
    pub presence: String,
    pub tickets: String,
    pub fence: String,
    pub ended: String,
    /// The group's index and the lock's record, for a grouped namespace.
    pub grouped: Option<GroupedKeys>,
    /// Pub/sub channel on which hand-offs of this lock are announced.
    pub channel: String,
    /// The name, as the index records it.
    pub name: String,
    /// How long released tickets stay listed; zero keeps none.
    pub ticket_retention: Duration,
}

impl LockKeys {
    /// KEYS of every lock script: the six resource keys, then index and record if grouped.
    pub fn script_keys(&self) -> impl Iterator<Item = &str> {
        let grouped = self.grouped.iter().flat_map(|g| [&g.index, &g.info]);
        [
            &self.lease,
            &self.queue,
            &self.presence,
            &self.tickets,
            &self.fence,
            &self.ended,
        ]
        .into_iter()
        .chain(grouped)
        .map(String::as_str)
    }
}

/// The keys a lock of a grouped namespace has beyond the six of every lock.
#[derive(Debug, Clone)]
pub struct GroupedKeys {
    pub index: String,
    pub info: String,
    pub retention: Duration,
}

/// Builds key names under one configurable prefix.
#[derive(Debug, Clone)]
pub struct KeyBuilder {
    prefix: String,
}

impl KeyBuilder {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// Built with `push_str`, not `format!`: this runs on every lock request, and the
    /// formatting machinery cost several times more than the copying.
    pub fn lock(&self, lock: &LockRef) -> LockKeys {
        let name = lock.name.as_str();
        let (base, grouped) = match lock.namespace.group_retention {
            Some(retention) => {
                let group = self.group(&lock.namespace);
                let base = joined(&[&group.member_prefix, name]);
                let grouped = GroupedKeys {
                    index: group.index,
                    info: joined(&[&base, ":info"]),
                    retention,
                };
                (base, Some(grouped))
            }
            None => (
                joined(&[&self.prefix, ":{", &lock.namespace.tag, ":", name, "}"]),
                None,
            ),
        };
        LockKeys {
            lease: joined(&[&base, ":lease"]),
            queue: joined(&[&base, ":queue"]),
            presence: joined(&[&base, ":presence"]),
            tickets: joined(&[&base, ":tickets"]),
            fence: joined(&[&base, ":fence"]),
            ended: joined(&[&base, ":ended"]),
            grouped,
            channel: joined(&[&base, ":events"]),
            name: name.to_owned(),
            ticket_retention: lock.ticket_retention,
        }
    }

    pub fn group(&self, namespace: &Namespace) -> GroupKeys {
        let tagged = format!("{}:{{{}}}", self.prefix, namespace.tag);
        GroupKeys {
            index: format!("{tagged}:index"),
            member_prefix: format!("{tagged}:"),
        }
    }
}

fn joined(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        key.push_str(part);
    }
    key
}

/// The keys of one account: its record and the index of locks it may hold, in one slot.
#[derive(Debug, Clone)]
pub struct AccountKeys {
    pub record: String,
    pub held: String,
}

impl KeyBuilder {
    /// `kind` names the dialect the account belongs to (e.g. `lockable`).
    pub fn account(&self, kind: &str, id: &str) -> AccountKeys {
        let base = format!("{}:{{{kind}-account:{id}}}", self.prefix);
        AccountKeys {
            record: format!("{base}:record"),
            held: format!("{base}:held"),
        }
    }
}

impl KeyBuilder {
    /// Where a credential's hash points to its account: `<prefix>:<kind>-key:<hash>`.
    pub fn credential(&self, kind: &str, secret_hash: &str) -> String {
        format!("{}:{kind}-key:{secret_hash}", self.prefix)
    }

    /// Pub/sub channel on which account changes and revocations are announced (payload: the
    /// account id), so every gateway drops what it cached of that account.
    pub fn credentials_channel(&self) -> String {
        format!("{}:credentials", self.prefix)
    }

    /// A rate-limit counter.
    pub fn rate(&self, bucket: &str) -> String {
        format!("{}:rate:{bucket}", self.prefix)
    }
}

/// The keys of one course (see `lua/_courses.lua`): its record, gadgets, editors, locks and
/// fence share the hash tag `{course:<id>}`; `index` (lock id → course id) is tagged so that it
/// lands in the same slot, and every lock id of the course ends with that slot's number, so
/// the index of any lock id is known from the id alone.
#[derive(Debug, Clone)]
pub struct CourseKeys {
    pub id: String,
    pub course: String,
    pub gadgets: String,
    pub editors: String,
    pub locks: String,
    pub fence: String,
    pub index: String,
    /// Lock id → expiry (Redis ms).
    pub expiry: String,
    /// The course's Redis Cluster slot.
    pub slot: u16,
}

/// Redis Cluster's slot count; a lock id's low bits hold its course's slot.
const SLOTS: u16 = 16_384;

impl KeyBuilder {
    /// `id` must be a valid course id (lowercase letters and digits; checked by the domain).
    pub fn course(&self, id: &str) -> CourseKeys {
        let tag = format!("course:{id}");
        let base = format!("{}:{{{tag}}}", self.prefix);
        let slot = slot_of(&tag);
        CourseKeys {
            id: id.to_owned(),
            course: format!("{base}:course"),
            gadgets: format!("{base}:gadgets"),
            editors: format!("{base}:editors"),
            locks: format!("{base}:locks"),
            fence: format!("{base}:fence"),
            expiry: format!("{base}:expiry"),
            index: self.course_index(slot),
            slot,
        }
    }

    /// The index that holds lock `id`, if `id` can be a course lock id at all.
    pub fn course_index_of(&self, lock_id: u64) -> Option<String> {
        (lock_id > 0 && lock_id <= i64::MAX as u64)
            .then(|| self.course_index((lock_id % u64::from(SLOTS)) as u16))
    }

    fn course_index(&self, slot: u16) -> String {
        format!(
            "{}:{{{}}}:course-lock-index",
            self.prefix,
            slot_tags()[usize::from(slot)]
        )
    }
}

/// A fresh lock id for a course in `slot`: a random positive 63-bit integer whose remainder
/// by the slot count is the slot.
pub fn course_lock_id(slot: u16, random: u64) -> u64 {
    let high = (random >> 15).max(1);
    high * u64::from(SLOTS) + u64::from(slot)
}

/// Redis Cluster's slot of a hash tag: CRC16/XMODEM modulo 16384.
fn slot_of(tag: &str) -> u16 {
    const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_XMODEM);
    CRC.checksum(tag.as_bytes()) % SLOTS
}

/// For every slot, a short tag that hashes to it (the first decimal number that does), found
/// once: about 160 000 checksums, a few milliseconds.
fn slot_tags() -> &'static [String] {
    static TAGS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let mut tags = vec![String::new(); usize::from(SLOTS)];
        let mut missing = usize::from(SLOTS);
        let mut n: u64 = 0;
        while missing > 0 {
            let tag = n.to_string();
            let slot = usize::from(slot_of(&tag));
            if tags[slot].is_empty() {
                tags[slot] = tag;
                missing -= 1;
            }
            n += 1;
        }
        tags
    });
    &TAGS
}

/// The keys of a grouped namespace as a whole.
#[derive(Debug, Clone)]
pub struct GroupKeys {
    /// Sorted set: lock name -> Redis time in ms of its last change.
    pub index: String,
    /// What precedes `<name>:<part>` in the keys of the group's locks.
    pub member_prefix: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str) -> LockKeys {
        let name = LockName::parse(name).expect("valid name");
        KeyBuilder::new("lg").lock(&Namespace::shared("maas").lock(name))
    }

    /// All keys of a lock must hash to one cluster slot: they share the text up to the first `}`.
    fn hash_tag(key: &str) -> &str {
        let open = key.find('{').expect("has a tag");
        let close = key[open + 1..].find('}').expect("tag closes") + open + 1;
        &key[open + 1..close]
    }

    #[test]
    fn all_keys_of_a_lock_share_one_hash_tag() {
        for name in ["jobs", "a}b", "{x}", "with space"] {
            let k = keys(name);
            let tag = hash_tag(&k.lease);
            for key in k.script_keys() {
                assert_eq!(hash_tag(key), tag, "key {key}");
            }
        }
    }

    #[test]
    fn a_grouped_namespace_shares_one_hash_tag_with_its_index() {
        let builder = KeyBuilder::new("lg");
        let group = Namespace::group("test", "1", Duration::ZERO).expect("valid id");
        let a = builder.lock(&group.lock(LockName::parse("a}b").expect("valid")));
        let b = builder.lock(&group.lock(LockName::parse("z").expect("valid")));
        let index = a.grouped.as_ref().expect("grouped").index.clone();
        assert_eq!(index, b.grouped.as_ref().expect("grouped").index);
        assert_eq!(a.script_keys().count(), 8);
        for key in a.script_keys().chain(b.script_keys()) {
            assert_eq!(hash_tag(key), "test-account-1", "key {key}");
        }
    }

    #[test]
    fn different_namespaces_never_share_keys() {
        let name = LockName::parse("jobs").expect("valid name");
        let a = KeyBuilder::new("lg").lock(&Namespace::shared("maas").lock(name.clone()));
        let b = KeyBuilder::new("lg").lock(&Namespace::shared("other").lock(name.clone()));
        assert_ne!(a.lease, b.lease);
        let c = Namespace::account("maas", "x").expect("valid id");
        assert_ne!(KeyBuilder::new("lg").lock(&c.lock(name)).lease, a.lease);
    }

    /// Redis Cluster's own examples: `123456789` is slot 12739, `{user1000}.following` is
    /// slot 3443 (by the tag `user1000`).
    #[test]
    fn slots_are_computed_as_redis_cluster_does() {
        assert_eq!(slot_of("123456789"), 12739);
        assert_eq!(slot_of("user1000"), 3443);
    }

    /// A course's index and its lock ids land in the course's own slot.
    #[test]
    fn course_lock_ids_find_an_index_in_their_courses_slot() {
        let builder = KeyBuilder::new("lg");
        let keys = builder.course("algebra101");
        assert_eq!(slot_of(hash_tag(&keys.index)), keys.slot);
        assert_eq!(slot_of(hash_tag(&keys.locks)), keys.slot);
        assert_eq!(slot_of(hash_tag(&keys.expiry)), keys.slot);
        for random in [0, 1, u64::MAX, 0x1234_5678_9abc_def0] {
            let id = course_lock_id(keys.slot, random);
            assert!(id > 0 && id <= i64::MAX as u64, "{id}");
            assert_eq!(builder.course_index_of(id), Some(keys.index.clone()));
        }
        assert_eq!(builder.course_index_of(0), None);
        assert_eq!(builder.course_index_of(u64::MAX), None);
    }

    #[test]
    fn account_ids_that_could_break_the_hash_tag_are_refused() {
        for id in ["", "a}b", "{x"] {
            assert!(Namespace::account("lockable", id).is_err(), "{id:?}");
            assert!(
                Namespace::group("lockable", id, Duration::ZERO).is_err(),
                "{id:?}"
            );
        }
    }
}

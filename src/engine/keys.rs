//! Every Redis key and channel name lockgate uses is built here, so the layout is in one place.
//!
//! A lock's keys look like `<prefix>:{<namespace>:<name>}:<part>`. The braces are a Redis Cluster
//! hash tag: all keys of one lock land in one slot, which is what lets one Lua script touch them
//! all. The prefix may not contain braces (checked in configuration), so the tag always starts at
//! the brace written here; a `}` inside a name only ends the tag early, identically for all of
//! that lock's keys, so they still share a slot.

use crate::domain::LockName;

/// Which lock, in which dialect's namespace. Two namespaces never share a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRef {
    /// The dialect (and later, the account) the lock belongs to, e.g. `maas`.
    pub namespace: String,
    /// The name the client gave.
    pub name: LockName,
}

impl LockRef {
    pub fn new(namespace: impl Into<String>, name: LockName) -> Self {
        Self {
            namespace: namespace.into(),
            name,
        }
    }
}

/// The key names of one lock, in the order every lock script takes them (see `lua/_lock_lib.lua`).
#[derive(Debug, Clone)]
pub struct LockKeys {
    pub lease: String,
    pub queue: String,
    pub waiters: String,
    pub presence: String,
    pub fence: String,
    /// Pub/sub channel on which hand-offs of this lock are announced.
    pub channel: String,
}

impl LockKeys {
    /// KEYS[1..5] of every lock script.
    pub fn script_keys(&self) -> [&str; 5] {
        [
            &self.lease,
            &self.queue,
            &self.waiters,
            &self.presence,
            &self.fence,
        ]
    }
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

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn lock(&self, lock: &LockRef) -> LockKeys {
        let base = format!(
            "{}:{{{}:{}}}",
            self.prefix,
            lock.namespace,
            lock.name.as_str()
        );
        LockKeys {
            lease: format!("{base}:lease"),
            queue: format!("{base}:queue"),
            waiters: format!("{base}:waiters"),
            presence: format!("{base}:presence"),
            fence: format!("{base}:fence"),
            channel: format!("{base}:events"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(name: &str) -> LockKeys {
        let name = LockName::parse(name).expect("valid name");
        KeyBuilder::new("lg").lock(&LockRef::new("maas", name))
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
    fn different_namespaces_never_share_keys() {
        let name = LockName::parse("jobs").expect("valid name");
        let a = KeyBuilder::new("lg").lock(&LockRef::new("maas", name.clone()));
        let b = KeyBuilder::new("lg").lock(&LockRef::new("other", name));
        assert_ne!(a.lease, b.lease);
    }
}

//! lockable accounts: plans and their rules, validated once here for the admin API and the CLI.

use std::collections::HashMap;

use crate::config::LockableSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Fixed lease, public namespace.
    Hobbyist,
    /// Lease set per account; optionally a private namespace.
    Business,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Hobbyist => "hobbyist",
            Plan::Business => "business",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "hobbyist" => Some(Plan::Hobbyist),
            "business" => Some(Plan::Business),
            _ => None,
        }
    }
}

/// A lockable account as the operator sees it (never its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockableAccount {
    pub id: String,
    pub plan: Plan,
    pub lease_seconds: u64,
    pub private_namespace: bool,
    pub label: Option<String>,
    pub created_at_ms: i64,
}

/// What an operator may set; absent fields keep their value (or the plan's default).
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    pub plan: Option<Plan>,
    pub lease_seconds: Option<u64>,
    pub private_namespace: Option<bool>,
    /// `Some("")` clears the label.
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAccount(pub String);

pub const MAX_LABEL_BYTES: usize = 256;

impl LockableAccount {
    /// The account `changes` make of `current` (or of nothing, for a new account).
    pub fn apply(
        current: Option<&LockableAccount>,
        changes: &AccountChanges,
        rules: &LockableSettings,
    ) -> Result<Terms, InvalidAccount> {
        let plan = changes
            .plan
            .or(current.map(|c| c.plan))
            .ok_or_else(|| InvalidAccount("plan is required".into()))?;
        let was_business = current.is_some_and(|c| c.plan == Plan::Business);
        let (lease_seconds, private_namespace) = match plan {
            Plan::Hobbyist => {
                if changes.lease_seconds.is_some() || changes.private_namespace.is_some() {
                    return Err(InvalidAccount(
                        "leaseSeconds and privateNamespace are for business accounts; a hobbyist \
                         account has a fixed lease and the public namespace"
                            .into(),
                    ));
                }
                (rules.hobbyist_lease_seconds, false)
            }
            Plan::Business => {
                let lease = changes
                    .lease_seconds
                    .or(current.filter(|_| was_business).map(|c| c.lease_seconds))
                    .unwrap_or(rules.default_business_lease_seconds);
                if lease == 0 || lease > rules.max_business_lease_seconds {
                    return Err(InvalidAccount(format!(
                        "leaseSeconds must be between 1 and {}",
                        rules.max_business_lease_seconds
                    )));
                }
                let private = changes
                    .private_namespace
                    .or(current
                        .filter(|_| was_business)
                        .map(|c| c.private_namespace))
                    .unwrap_or(false);
                (lease, private)
            }
        };
        let label = match &changes.label {
            Some(label) if label.is_empty() => None,
            Some(label) => Some(label.clone()),
            None => current.and_then(|c| c.label.clone()),
        };
        if label.as_ref().is_some_and(|l| l.len() > MAX_LABEL_BYTES) {
            return Err(InvalidAccount(format!(
                "label is longer than {MAX_LABEL_BYTES} bytes"
            )));
        }
        Ok(Terms {
            plan,
            lease_seconds,
            private_namespace,
            label,
        })
    }

    /// Reads an account from its stored fields.
    pub fn from_fields(
        id: &str,
        fields: &HashMap<String, String>,
        created_at_ms: i64,
    ) -> Option<Self> {
        Some(Self {
            id: id.to_owned(),
            plan: Plan::parse(fields.get("plan")?)?,
            lease_seconds: fields.get("lease_seconds")?.parse().ok()?,
            private_namespace: fields.get("private_namespace")? == "1",
            label: fields.get("label").filter(|l| !l.is_empty()).cloned(),
            created_at_ms,
        })
    }
}

/// Validated settings of an account, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub plan: Plan,
    pub lease_seconds: u64,
    pub private_namespace: bool,
    pub label: Option<String>,
}

impl Terms {
    pub fn to_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("plan", self.plan.as_str().to_owned()),
            ("lease_seconds", self.lease_seconds.to_string()),
            (
                "private_namespace",
                if self.private_namespace { "1" } else { "0" }.to_owned(),
            ),
            ("label", self.label.clone().unwrap_or_default()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> LockableSettings {
        LockableSettings::default()
    }

    fn changes(plan: Option<Plan>, lease: Option<u64>, private: Option<bool>) -> AccountChanges {
        AccountChanges {
            plan,
            lease_seconds: lease,
            private_namespace: private,
            label: None,
        }
    }

    #[test]
    fn hobbyist_accounts_get_the_fixed_lease_and_the_public_namespace() {
        let terms =
            LockableAccount::apply(None, &changes(Some(Plan::Hobbyist), None, None), &rules())
                .expect("valid");
        assert_eq!((terms.lease_seconds, terms.private_namespace), (60, false));
        for bad in [
            changes(Some(Plan::Hobbyist), Some(5), None),
            changes(Some(Plan::Hobbyist), None, Some(false)),
        ] {
            assert!(LockableAccount::apply(None, &bad, &rules()).is_err());
        }
    }

    #[test]
    fn business_leases_are_bounded() {
        let ok = LockableAccount::apply(
            None,
            &changes(Some(Plan::Business), Some(2), Some(true)),
            &rules(),
        )
        .expect("valid");
        assert_eq!((ok.lease_seconds, ok.private_namespace), (2, true));
        for lease in [0, 86_401] {
            let bad = changes(Some(Plan::Business), Some(lease), None);
            assert!(
                LockableAccount::apply(None, &bad, &rules()).is_err(),
                "{lease}"
            );
        }
        assert!(LockableAccount::apply(None, &changes(None, None, None), &rules()).is_err());
    }

    #[test]
    fn a_change_of_plan_resets_what_the_new_plan_fixes() {
        let business = LockableAccount {
            id: "a".into(),
            plan: Plan::Business,
            lease_seconds: 5,
            private_namespace: true,
            label: Some("x".into()),
            created_at_ms: 0,
        };
        let down = LockableAccount::apply(
            Some(&business),
            &changes(Some(Plan::Hobbyist), None, None),
            &rules(),
        )
        .expect("valid");
        assert_eq!((down.lease_seconds, down.private_namespace), (60, false));
        assert_eq!(down.label.as_deref(), Some("x"));
        let kept = LockableAccount::apply(Some(&business), &changes(None, None, None), &rules())
            .expect("valid");
        assert_eq!((kept.lease_seconds, kept.private_namespace), (5, true));
    }
}

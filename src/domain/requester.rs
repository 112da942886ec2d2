/// Who asks for a synchronize lock (its `requester`): 1 to 256 bytes of UTF-8 without control
/// characters, like lock names. Stored as the lease's label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("requester must be 1 to {max} bytes of UTF-8 without control characters", max = Requester::MAX_BYTES)]
pub struct RequesterError;

impl Requester {
    pub const MAX_BYTES: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, RequesterError> {
        let valid =
            !raw.is_empty() && raw.len() <= Self::MAX_BYTES && !raw.chars().any(char::is_control);
        valid.then(|| Self(raw.to_owned())).ok_or(RequesterError)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requesters_follow_the_name_rules() {
        assert!(Requester::parse("service-a").is_ok());
        assert!(Requester::parse(&"r".repeat(256)).is_ok());
        for bad in ["", "a\tb", &"r".repeat(257)] {
            assert_eq!(Requester::parse(bad), Err(RequesterError), "{bad:?}");
        }
    }
}

/// A lock's name as a client gave it: 1 to 256 bytes of UTF-8 without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockNameError {
    #[error("lock name must not be empty")]
    Empty,
    #[error("lock name is {0} bytes long; at most {max} are allowed", max = LockName::MAX_BYTES)]
    TooLong(usize),
    #[error("lock name must not contain control characters")]
    ControlCharacter,
}

impl LockName {
    pub const MAX_BYTES: usize = 256;

    pub fn parse(raw: &str) -> Result<Self, LockNameError> {
        if raw.is_empty() {
            return Err(LockNameError::Empty);
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(LockNameError::TooLong(raw.len()));
        }
        if raw.chars().any(char::is_control) {
            return Err(LockNameError::ControlCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    /// One lock named by two names (sfp's repository and resource): `<bytes of first>:first/second`,
    /// so no two pairs share a name. It may exceed [`Self::MAX_BYTES`]: only its parts came from
    /// a client.
    pub fn pair(first: &LockName, second: &LockName) -> Self {
        Self(format!("{}:{}/{}", first.0.len(), first.0, second.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LockName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_up_to_256_bytes() {
        assert!(LockName::parse("a").is_ok());
        assert!(LockName::parse(&"é".repeat(128)).is_ok());
        assert_eq!(
            LockName::parse(&"a".repeat(257)),
            Err(LockNameError::TooLong(257))
        );
    }

    #[test]
    fn pairs_are_unambiguous() {
        let name = |s: &str| LockName::parse(s).expect("valid");
        assert_ne!(
            LockName::pair(&name("a/b"), &name("c")),
            LockName::pair(&name("a"), &name("b/c"))
        );
    }

    #[test]
    fn rejects_empty_and_control_characters() {
        assert_eq!(LockName::parse(""), Err(LockNameError::Empty));
        assert_eq!(
            LockName::parse("a\nb"),
            Err(LockNameError::ControlCharacter)
        );
        assert_eq!(
            LockName::parse("a\u{7f}"),
            Err(LockNameError::ControlCharacter)
        );
    }
}

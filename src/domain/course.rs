//! The courses dialect's names: course ids (chosen by the operator), gadget and user ids.

/// A course id: lowercase ASCII letters and digits, 6 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseId(String);

/// A gadget id or a user id: 1 to 256 bytes of UTF-8, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CourseNameError {
    #[error("course ids are 6 to 64 lowercase letters and digits; `{0}` is not one")]
    CourseId(String),
    #[error("{0} must be 1 to 256 bytes of UTF-8 without control characters")]
    Subject(&'static str),
}

impl CourseId {
    pub const MIN: usize = 6;
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, CourseNameError> {
        let valid = (Self::MIN..=Self::MAX).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CourseNameError::CourseId(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl SubjectId {
    /// `what` names the field in the error (e.g. `gadgetId`).
    pub fn parse(what: &'static str, raw: &str) -> Result<Self, CourseNameError> {
        if raw.is_empty() || raw.len() > 256 || raw.chars().any(char::is_control) {
            return Err(CourseNameError::Subject(what));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_ids_are_six_or_more_lowercase_letters_and_digits() {
        assert!(CourseId::parse("algebra101").is_ok());
        assert!(CourseId::parse("abc123").is_ok());
        for bad in [
            "abc12",
            "Algebra101",
            "alg-ebra",
            "",
            "über123",
            &"a".repeat(65),
        ] {
            assert!(CourseId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subject_ids_are_names() {
        assert!(SubjectId::parse("gadgetId", "g-1").is_ok());
        assert!(SubjectId::parse("gadgetId", "").is_err());
        assert!(SubjectId::parse("gadgetId", "a\nb").is_err());
        assert!(SubjectId::parse("gadgetId", &"x".repeat(257)).is_err());
    }
}

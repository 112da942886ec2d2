//! Credentials handed to clients once and stored only as SHA-256 hashes.

use sha2::{Digest, Sha256};

/// A credential of the form `<account id>.<secret>`: the id finds the account's record in one
/// look-up, the secret (256 random bits, hex) proves possession.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub account_id: String,
    secret: String,
}

#[derive(Debug, thiserror::Error)]
#[error("could not draw random bytes: {0}")]
pub struct RandomError(String);

impl Token {
    /// A new token for `account_id` (which must not contain `.`).
    pub fn generate(account_id: &str) -> Result<Self, RandomError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|err| RandomError(err.to_string()))?;
        Ok(Self {
            account_id: account_id.to_owned(),
            secret: hex(&bytes),
        })
    }

    /// Splits a presented token; `None` when it has not the shape of one.
    pub fn parse(presented: &str) -> Option<Self> {
        let (account_id, secret) = presented.split_once('.')?;
        let valid_id = !account_id.is_empty()
            && account_id.len() <= 64
            && account_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let valid_secret = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
        (valid_id && valid_secret).then(|| Self {
            account_id: account_id.to_owned(),
            secret: secret.to_ascii_lowercase(),
        })
    }

    /// What is stored and compared: the hash of the secret, never the secret.
    pub fn secret_hash(&self) -> String {
        sha256_hex(&self.secret)
    }

    /// The full token, to show the client once.
    pub fn reveal(&self) -> String {
        format!("{}.{}", self.account_id, self.secret)
    }
}

/// SHA-256 of `text`, in hex: how credentials are stored.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_parses_back_to_the_same_hash() {
        let token = Token::generate("acct-1").expect("random");
        let parsed = Token::parse(&token.reveal()).expect("parses");
        assert_eq!(parsed.account_id, "acct-1");
        assert_eq!(parsed.secret_hash(), token.secret_hash());
        assert_ne!(
            Token::generate("acct-1").expect("random").secret_hash(),
            token.secret_hash(),
            "each token is new"
        );
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        for bad in [
            "",
            "nodot",
            "a.short",
            ".abc",
            &format!("a b.{}", "0".repeat(64)),
        ] {
            assert!(Token::parse(bad).is_none(), "{bad:?}");
        }
    }
}

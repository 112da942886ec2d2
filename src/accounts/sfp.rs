//! sfp's callers: bearer JWTs, verified in the gateway (no Redis call) with the configured key,
//! and the subject and roles they carry. Also mints HS256 tokens for operators
//! (`lockgate admin sfp token`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::config::SfpSettings;

/// The roles that may use the sfp API.
const SFP_ROLES: [&str; 2] = ["owner", "application"];

/// Verifies sfp's bearer tokens as configured.
#[derive(Clone)]
pub struct SfpVerifier {
    key: DecodingKey,
    validation: Validation,
    role_claim: String,
}

impl std::fmt::Debug for SfpVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SfpVerifier")
            .field("algorithms", &self.validation.algorithms)
            .field("role_claim", &self.role_claim)
            .finish_non_exhaustive()
    }
}

/// Who called, as their token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfpCaller {
    /// The token's `sub`.
    pub subject: String,
    pub roles: Vec<String>,
}

impl SfpCaller {
    /// Whether the caller has a role that may use the API.
    pub fn may_use_api(&self) -> bool {
        self.roles
            .iter()
            .any(|role| SFP_ROLES.contains(&role.as_str()))
    }
}

/// Why a token was refused (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token's issuer is not accepted")]
    Issuer,
    #[error("the token's audience is not accepted")]
    Audience,
    #[error("the token has no `{0}` claim")]
    Missing(String),
    #[error("the token is signed with an algorithm this server does not accept")]
    Algorithm,
    #[error("malformed token")]
    Malformed,
}

impl SfpVerifier {
    /// The verifier the settings describe; `Ok(None)` when neither a secret nor a public key is
    /// configured (sfp is then not served). A key file that cannot be read or parsed is an
    /// error, as are both settings at once.
    pub fn from_settings(settings: &SfpSettings) -> Result<Option<Self>, String> {
        let (key, algorithm) = match (
            settings.jwt_secret.is_empty(),
            settings.jwt_public_key_file.is_empty(),
        ) {
            (true, true) => return Ok(None),
            (false, false) => {
                return Err("set sfp.jwt_secret or sfp.jwt_public_key_file, not both".into())
            }
            (false, true) => (
                DecodingKey::from_secret(settings.jwt_secret.as_bytes()),
                Algorithm::HS256,
            ),
            (true, false) => public_key(&settings.jwt_public_key_file)?,
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = settings.jwt_leeway_seconds;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if settings.jwt_issuer.is_empty() {
            validation.iss = None;
        } else {
            validation.set_issuer(&[&settings.jwt_issuer]);
            required.push("iss");
        }
        if settings.jwt_audience.is_empty() {
            // Identity providers put an audience in every token; without one configured it is
            // not checked (the crate would refuse every token that has one).
            validation.validate_aud = false;
        } else {
            validation.set_audience(&[&settings.jwt_audience]);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        Ok(Some(Self {
            key,
            validation,
            role_claim: settings.role_claim.clone(),
        }))
    }

    /// The caller a bearer token names, if it verifies.
    pub fn verify(&self, token: &str) -> Result<SfpCaller, TokenError> {
        use jsonwebtoken::errors::ErrorKind;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &self.validation)
            .map_err(|err| match err.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidIssuer => TokenError::Issuer,
            ErrorKind::InvalidAudience => TokenError::Audience,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::Missing(claim.clone()),
            ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
            _ => TokenError::Malformed,
        })?;
        let subject = match data.claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(TokenError::Missing("sub".into())),
        };
        let roles = match claim_at(&data.claims, &self.role_claim) {
            Some(Value::String(role)) => vec![role.clone()],
            Some(Value::Array(roles)) => roles
                .iter()
                .filter_map(|role| role.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Ok(SfpCaller { subject, roles })
    }
}

/// RS256 for an RSA key, ES256 for an EC (P-256) key.
fn public_key(path: &str) -> Result<(DecodingKey, Algorithm), String> {
    let pem = std::fs::read(path).map_err(|e| format!("sfp.jwt_public_key_file {path}: {e}"))?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((key, Algorithm::RS256));
    }
    DecodingKey::from_ec_pem(&pem)
        .map(|key| (key, Algorithm::ES256))
        .map_err(|_| {
            format!("sfp.jwt_public_key_file {path}: not a PEM RSA or EC (P-256) public key")
        })
}

/// The claim at a dotted `path`. A key that itself contains dots (an identity provider's
/// namespaced claim such as `https://example.com/roles`) is matched whole before the path is
/// split at a dot.
fn claim_at<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    path.match_indices('.').find_map(|(at, _)| {
        let (head, rest) = (&path[..at], &path[at + 1..]);
        match claims.get(head)? {
            Value::Object(inner) => claim_at(inner, rest),
            _ => None,
        }
    })
}

/// An HS256 token for `subject` with `role` at the configured claim path, valid for `ttl`
/// (with the configured issuer and audience, if any).
pub fn mint_sfp_token(
    settings: &SfpSettings,
    subject: &str,
    role: &str,
    ttl: Duration,
) -> Result<String, String> {
    if settings.jwt_secret.is_empty() {
        return Err(
            "minting needs sfp.jwt_secret (HS256); tokens for a public key come from its \
             identity provider"
                .into(),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let mut claims = Map::new();
    claims.insert("sub".into(), subject.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + ttl.as_secs()).into());
    if !settings.jwt_issuer.is_empty() {
        claims.insert("iss".into(), settings.jwt_issuer.clone().into());
    }
    if !settings.jwt_audience.is_empty() {
        claims.insert("aud".into(), settings.jwt_audience.clone().into());
    }
    place(&mut claims, &settings.role_claim, role.into());
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(settings.jwt_secret.as_bytes()),
    )
    .map_err(|e| e.to_string())
}

/// Writes `value` at the dotted `path`, making the objects on the way.
fn place(claims: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            claims.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let inner = claims
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !inner.is_object() {
                *inner = Value::Object(Map::new());
            }
            if let Value::Object(inner) = inner {
                place(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(role_claim: &str) -> SfpSettings {
        SfpSettings {
            jwt_secret: "s3cret".into(),
            role_claim: role_claim.into(),
            ..SfpSettings::default()
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn roles_are_found_at_dotted_paths_and_namespaced_keys() {
        let c = claims(json!({
            "role": "owner",
            "app_metadata": {"role": ["application", "x"]},
            "https://example.com/roles": ["owner"],
        }));
        assert_eq!(claim_at(&c, "role"), Some(&json!("owner")));
        assert_eq!(
            claim_at(&c, "app_metadata.role"),
            Some(&json!(["application", "x"]))
        );
        assert_eq!(
            claim_at(&c, "https://example.com/roles"),
            Some(&json!(["owner"]))
        );
        assert_eq!(claim_at(&c, "app_metadata.none"), None);
        assert_eq!(claim_at(&c, "role.deeper"), None);
    }

    #[test]
    fn a_minted_token_verifies_with_its_role_at_the_claim_path() {
        for path in ["role", "app_metadata.role"] {
            let settings = settings(path);
            let token = mint_sfp_token(&settings, "ci-bot", "application", Duration::from_secs(60))
                .expect("minted");
            let verifier = SfpVerifier::from_settings(&settings)
                .expect("valid settings")
                .expect("configured");
            let caller = verifier.verify(&token).expect("verifies");
            assert_eq!(caller.subject, "ci-bot");
            assert_eq!(caller.roles, vec!["application".to_owned()]);
            assert!(caller.may_use_api());
        }
    }

    #[test]
    fn neither_key_means_not_served_and_both_is_an_error() {
        assert!(matches!(
            SfpVerifier::from_settings(&SfpSettings::default()),
            Ok(None)
        ));
        let both = SfpSettings {
            jwt_secret: "x".into(),
            jwt_public_key_file: "/nonexistent".into(),
            ..SfpSettings::default()
        };
        assert!(SfpVerifier::from_settings(&both).is_err());
    }
}

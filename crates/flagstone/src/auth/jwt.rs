//! JWT access tokens: signed with one algorithm, verified pinned to it.
//!
//! ```
//! use std::time::Duration;
//! use flagstone::auth::jwt::{JwtKeys, TokenError};
//!
//! let keys = JwtKeys::from_secret(
//!     b"0123456789abcdef0123456789abcdef",
//!     "my-app",
//!     "my-app",
//!     Duration::from_secs(15 * 60),
//! );
//! let (token, claims) = keys.issue("user-1", &["admin".to_owned()], None)?;
//! assert_eq!(claims.exp - claims.iat, 15 * 60);
//! assert_eq!(keys.verify(&token), Ok(claims));
//! assert_eq!(keys.verify("not.a.token"), Err(TokenError::Malformed));
//! assert_eq!(TokenError::Expired.code(), "token_expired");
//! # Ok::<(), flagstone::Error>(())
//! ```
//!
//! [`JwtKeys::from_config`] reads `[auth]`: HS256 signs with `auth.secret`, EdDSA and RS256
//! with the PEM key pair in `auth.private_key_file` and `auth.public_key_file`. Every key
//! has a `kid`, the first 8 bytes of the SHA-256 of its key material (the secret, or the
//! public key file) in unpadded base64url: it names the key without revealing anything
//! usable. Tokens carry it in their header.
//!
//! Verification refuses a token unless
//! - it is at most 8 KiB of three base64url parts with a JSON header;
//! - its header's `alg` is exactly the configured algorithm (which rules out `none`, and
//!   HS256 tokens signed with a public key as their HMAC secret);
//! - its `kid`, if any, names a verification key: the current one or one of
//!   `auth.previous_secrets` / `auth.previous_public_key_files`, so keys can be rotated
//!   without logging everyone out (a token without `kid` is tried against each);
//! - the signature holds, and `exp`, `iat`, `sub`, `iss`, `aud` and `jti` are all there,
//!   with `iss` and `aud` the configured ones and the times (`nbf` too, when a token has
//!   one) right within `auth.leeway`.
//!
//! Issued tokens carry no `nbf` (they are valid from `iat`, which is checked the same way)
//! and no `roles` when the user has none: every request sends the token, so it holds only
//! what is used.
//!
//! Each refusal is a [`TokenError`], which clients see only as its [`code`](TokenError::code).

use std::{borrow::Cow, fmt, sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind as JwtErrorKind,
};
use ring::{digest, hmac};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    config::{AuthConfig, JwtAlgorithm, Profile},
};

/// The longest token looked at, in bytes; anything longer is [`TokenError::Malformed`].
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The claims a token must carry.
const REQUIRED_CLAIMS: [&str; 6] = ["exp", "iat", "sub", "iss", "aud", "jti"];
/// Leeway of [`JwtKeys::from_secret`].
const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The subject: the user's id.
    pub sub: String,
    /// The user's roles when the token was issued; not in the token when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The token's unique id: 128 random bits, base64url.
    pub jti: String,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Not valid before, in seconds since the Unix epoch. Flagstone's tokens leave it out:
    /// they are valid from `iat`. A token that has it is refused before then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expires at, in seconds since the Unix epoch.
    pub exp: i64,
    /// The issuer (`auth.issuer`).
    pub iss: String,
    /// The audience (`auth.audience`).
    pub aud: String,
    /// The refresh-token session the access token belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Why a token was refused. Clients are shown only its [`code`](Self::code); its
/// `Display` is a short phrase that never echoes the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a JWT: empty, too long, not three base64url parts, or a header that is not JSON.
    Malformed,
    /// The header's `alg` is not the configured algorithm (`none` included).
    WrongAlgorithm,
    /// The header's `kid` names no verification key.
    UnknownKey,
    /// The signature does not match the header and payload under any verification key.
    BadSignature,
    /// `exp` is past, by more than the leeway.
    Expired,
    /// `nbf` or `iat` is in the future, by more than the leeway.
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` is not the configured audience.
    WrongAudience,
    /// A required claim is missing or has the wrong type.
    MissingClaim,
}

impl TokenError {
    /// The stable machine-readable code shown to clients, such as `token_expired`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "token_malformed",
            Self::WrongAlgorithm => "token_algorithm",
            Self::UnknownKey => "token_unknown_key",
            Self::BadSignature => "token_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::WrongIssuer => "token_issuer",
            Self::WrongAudience => "token_audience",
            Self::MissingClaim => "token_claims",
        }
    }

    fn from_jwt(error: &jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            JwtErrorKind::InvalidSignature => Self::BadSignature,
            JwtErrorKind::ExpiredSignature => Self::Expired,
            JwtErrorKind::ImmatureSignature => Self::NotYetValid,
            JwtErrorKind::InvalidIssuer => Self::WrongIssuer,
            JwtErrorKind::InvalidAudience => Self::WrongAudience,
            // The header was checked before, and the payload is only read once the
            // signature holds: a JSON error here is a claim of the wrong shape.
            JwtErrorKind::MissingRequiredClaim(_)
            | JwtErrorKind::InvalidClaimFormat(_)
            | JwtErrorKind::InvalidSubject
            | JwtErrorKind::Json(_) => Self::MissingClaim,
            JwtErrorKind::InvalidAlgorithm
            | JwtErrorKind::MissingAlgorithm
            | JwtErrorKind::InvalidAlgorithmName
            | JwtErrorKind::UnsupportedAlgorithm => Self::WrongAlgorithm,
            _ => Self::Malformed,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "the token is malformed",
            Self::WrongAlgorithm => "the token's algorithm is not accepted",
            Self::UnknownKey => "the token was signed with an unknown key",
            Self::BadSignature => "the token's signature is invalid",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::WrongIssuer => "the token was issued by someone else",
            Self::WrongAudience => "the token is meant for someone else",
            Self::MissingClaim => "the token's claims are missing or invalid",
        })
    }
}

impl std::error::Error for TokenError {}

/// The keys that sign and verify access tokens, with the token settings. Cheap to clone.
#[derive(Clone)]
pub struct JwtKeys {
    inner: Arc<Inner>,
}

struct Inner {
    algorithm: Algorithm,
    signing: EncodingKey,
    /// The `kid` of `signing`, written in every token's header.
    kid: String,
    /// The current key first, then the previous ones; no two with the same `kid`.
    verifying: Vec<VerifyingKey>,
    validation: Validation,
    ttl: Duration,
    leeway: Duration,
    issuer: String,
    audience: String,
}

struct VerifyingKey {
    kid: String,
    key: Verifier,
}

/// How one key checks a signature.
enum Verifier {
    /// HS256: the HMAC keyed once (its padded key blocks already hashed), so that a
    /// verification hashes only the token.
    Hmac(hmac::Key),
    /// EdDSA and RS256, through jsonwebtoken.
    Pem(DecodingKey),
}

impl Verifier {
    fn hmac(secret: &[u8]) -> Self {
        Self::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }
}

/// What a token's header is first read as: only the fields that decide which key to try,
/// borrowed from the decoded header unless they hold escapes.
#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    typ: Option<Cow<'a, str>>,
    crit: Option<serde::de::IgnoredAny>,
}

impl JwtKeys {
    /// Reads the keys and token settings from `[auth]`.
    ///
    /// - `HS256`: signs with `auth.secret` and also accepts `auth.previous_secrets`. Without
    ///   a secret, production is refused; elsewhere a random 32-byte key is made, with a
    ///   warning (tokens then stop working on restart).
    /// - `EdDSA` / `RS256`: signs with the PEM private key in `auth.private_key_file`
    ///   (PKCS#8 for Ed25519; PKCS#1 or PKCS#8 for RSA) and verifies with the PEM public
    ///   keys in `auth.public_key_file` and `auth.previous_public_key_files`. The private
    ///   key must match `auth.public_key_file`.
    ///
    /// Fails with an internal error naming the setting (and the file, never its contents)
    /// when a key is missing, unreadable or invalid.
    pub fn from_config(config: &AuthConfig, profile: Profile) -> Result<Self> {
        let keys = match config.algorithm {
            JwtAlgorithm::HS256 => hmac_keys(config, profile)?,
            JwtAlgorithm::EdDSA | JwtAlgorithm::RS256 => pem_keys(config)?,
        };
        Ok(Self::new(
            keys,
            algorithm(config.algorithm),
            &config.issuer,
            &config.audience,
            config.access_token_ttl,
            config.leeway,
        ))
    }

    /// HS256 keys from `secret` alone (which should be at least 32 random bytes), with a
    /// leeway of 30 seconds: for tests and simple apps.
    pub fn from_secret(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let kid = fingerprint(secret);
        let keys = KeySet {
            signing: EncodingKey::from_secret(secret),
            kid: kid.clone(),
            verifying: vec![VerifyingKey {
                kid,
                key: Verifier::hmac(secret),
            }],
        };
        Self::new(
            keys,
            Algorithm::HS256,
            issuer,
            audience,
            ttl,
            DEFAULT_LEEWAY,
        )
    }

    fn new(
        keys: KeySet,
        algorithm: Algorithm,
        issuer: &str,
        audience: &str,
        ttl: Duration,
        leeway: Duration,
    ) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&REQUIRED_CLAIMS);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        Self {
            inner: Arc::new(Inner {
                algorithm,
                signing: keys.signing,
                kid: keys.kid,
                verifying: keys.verifying,
                validation,
                ttl,
                leeway,
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
            }),
        }
    }

    /// Signs an access token for `sub` with `roles`, belonging to the refresh session
    /// `sid` if any: `iat` = now, `exp` = now + the TTL, a random 128-bit `jti`, and a
    /// header with `alg`, `kid` and `typ: "JWT"`. Returns the token and its claims.
    pub fn issue(
        &self,
        sub: &str,
        roles: &[String],
        sid: Option<&str>,
    ) -> Result<(String, Claims)> {
        let inner = &self.inner;
        let now = now();
        let ttl = i64::try_from(inner.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: sub.to_owned(),
            roles: roles.to_vec(),
            jti: random_id()?,
            iat: now,
            nbf: None,
            exp: now.saturating_add(ttl),
            iss: inner.issuer.clone(),
            aud: inner.audience.clone(),
            sid: sid.map(str::to_owned),
        };
        let mut header = Header::new(inner.algorithm);
        header.kid = Some(inner.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &inner.signing)
            .map_err(|error| Error::internal(format!("cannot sign an access token: {error}")))?;
        Ok((token, claims))
    }

    /// Checks `token` (see the [module docs](self) for every rule) and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let inner = &self.inner;
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let raw: RawHeader = serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if raw.alg != algorithm_name(inner.algorithm) {
            return Err(TokenError::WrongAlgorithm);
        }
        // No extension is understood, so none may be critical (RFC 7515, 4.1.11); and the
        // header must also read as the library's own, so that its errors below are about
        // the signature or the claims.
        let typ_ok = raw
            .typ
            .as_deref()
            .is_none_or(|typ| typ.eq_ignore_ascii_case("JWT"));
        if raw.crit.is_some() || !typ_ok {
            return Err(TokenError::Malformed);
        }
        let mut keys = inner.verifying.iter().filter(|key| match &raw.kid {
            Some(kid) => key.kid == *kid,
            None => true,
        });
        let Some(first) = keys.next() else {
            return Err(TokenError::UnknownKey);
        };
        for key in std::iter::once(first).chain(keys) {
            let verified = match &key.key {
                Verifier::Hmac(key) => self.verify_hmac(token, key),
                Verifier::Pem(key) => {
                    if serde_json::from_slice::<Header>(&header).is_err() {
                        return Err(TokenError::Malformed);
                    }
                    jsonwebtoken::decode::<Claims>(token, key, &inner.validation)
                        .map(|data| data.claims)
                        .map_err(|error| TokenError::from_jwt(&error))
                }
            };
            match verified {
                Ok(claims) => return self.check_issued_at(claims),
                Err(TokenError::BadSignature) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(TokenError::BadSignature)
    }

    /// HS256 verification of a token whose header was checked: the signature (compared in
    /// constant time), then the claims with the rules jsonwebtoken applies to the other
    /// algorithms: `exp` and `nbf` within the leeway, `iss` and `aud` the configured ones.
    fn verify_hmac(&self, token: &str, key: &hmac::Key) -> Result<Claims, TokenError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        // An HS256 signature is 32 bytes; a longer one cannot match, so it is decoded into
        // a buffer of one byte more, which a longer one overflows into (or past).
        let mut decoded = [0u8; 33];
        let length = URL_SAFE_NO_PAD
            .decode_slice(signature, &mut decoded)
            .map_err(|error| match error {
                base64::DecodeSliceError::OutputSliceTooSmall => TokenError::BadSignature,
                base64::DecodeSliceError::DecodeError(_) => TokenError::Malformed,
            })?;
        hmac::verify(key, signed.as_bytes(), &decoded[..length])
            .map_err(|_| TokenError::BadSignature)?;
        let (_, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::MissingClaim)?;
        let inner = &self.inner;
        let leeway = i64::try_from(inner.leeway.as_secs()).unwrap_or(i64::MAX);
        let now = now();
        if claims.exp < now.saturating_sub(leeway) {
            return Err(TokenError::Expired);
        }
        if claims
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(leeway))
        {
            return Err(TokenError::NotYetValid);
        }
        if claims.iss != inner.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != inner.audience {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }

    /// `iat` must not be in the future either (jsonwebtoken checks only `exp` and `nbf`).
    fn check_issued_at(&self, claims: Claims) -> Result<Claims, TokenError> {
        let leeway = i64::try_from(self.inner.leeway.as_secs()).unwrap_or(i64::MAX);
        if claims.iat > now().saturating_add(leeway) {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }

    /// The lifetime of the access tokens issued.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }
}

impl fmt::Debug for JwtKeys {
    /// Shows the algorithm, the key ids and the settings, never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let kids: Vec<&str> = inner.verifying.iter().map(|key| key.kid.as_str()).collect();
        f.debug_struct("JwtKeys")
            .field("algorithm", &inner.algorithm)
            .field("kid", &inner.kid)
            .field("verification_kids", &kids)
            .field("ttl", &inner.ttl)
            .field("leeway", &inner.leeway)
            .field("issuer", &inner.issuer)
            .field("audience", &inner.audience)
            .finish()
    }
}

/// A signing key, its `kid`, and every key accepted for verification.
struct KeySet {
    signing: EncodingKey,
    kid: String,
    verifying: Vec<VerifyingKey>,
}

impl KeySet {
    /// Adds a verification key unless one with the same `kid` (the same material) is there.
    fn accept(&mut self, kid: String, key: Verifier) {
        if !self.verifying.iter().any(|known| known.kid == kid) {
            self.verifying.push(VerifyingKey { kid, key });
        }
    }
}

fn hmac_keys(config: &AuthConfig, profile: Profile) -> Result<KeySet> {
    let secret = match &config.secret {
        Some(secret) if secret.is_empty() => {
            return Err(Error::internal("auth.secret must not be empty"));
        }
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None if profile == Profile::Production => {
            return Err(Error::internal("auth.secret is required in production"));
        }
        None => {
            tracing::warn!(
                "auth.secret is not set: using a random key; tokens stop working on restart"
            );
            let mut secret = vec![0; 32];
            getrandom::fill(&mut secret).map_err(Error::internal)?;
            secret
        }
    };
    let kid = fingerprint(&secret);
    let mut keys = KeySet {
        signing: EncodingKey::from_secret(&secret),
        kid: kid.clone(),
        verifying: Vec::new(),
    };
    keys.accept(kid, Verifier::hmac(&secret));
    for (i, previous) in config.previous_secrets.iter().enumerate() {
        if previous.is_empty() {
            return Err(Error::internal(format!(
                "auth.previous_secrets[{i}] must not be empty"
            )));
        }
        let previous = previous.expose().as_bytes();
        keys.accept(fingerprint(previous), Verifier::hmac(previous));
    }
    Ok(keys)
}

type ParsePrivate = fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>;
type ParsePublic = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;

fn pem_keys(config: &AuthConfig) -> Result<KeySet> {
    let (kind, parse_private, parse_public): (&str, ParsePrivate, ParsePublic) =
        match config.algorithm {
            JwtAlgorithm::EdDSA => (
                "Ed25519",
                EncodingKey::from_ed_pem,
                DecodingKey::from_ed_pem,
            ),
            JwtAlgorithm::RS256 => ("RSA", EncodingKey::from_rsa_pem, DecodingKey::from_rsa_pem),
            JwtAlgorithm::HS256 => {
                return Err(Error::internal("HS256 has no key files"));
            }
        };
    let required = |key: &str, value: &Option<String>| {
        value.clone().ok_or_else(|| {
            Error::internal(format!(
                "{key} is required with auth.algorithm = {:?}",
                config.algorithm
            ))
        })
    };
    let private_path = required("auth.private_key_file", &config.private_key_file)?;
    let public_path = required("auth.public_key_file", &config.public_key_file)?;

    let pem = read_key_file("auth.private_key_file", &private_path)?;
    let signing = parse_private(&pem).map_err(|error| {
        Error::internal(format!(
            "auth.private_key_file: {private_path} is not a PEM {kind} private key ({error})"
        ))
    })?;
    let public = |setting: &str, path: &str| -> Result<(String, DecodingKey)> {
        let pem = read_key_file(setting, path)?;
        let key = parse_public(&pem).map_err(|error| {
            Error::internal(format!(
                "{setting}: {path} is not a PEM {kind} public key ({error})"
            ))
        })?;
        Ok((fingerprint(pem.trim_ascii()), key))
    };
    let (kid, current) = public("auth.public_key_file", &public_path)?;
    let algorithm = algorithm(config.algorithm);
    if !key_pair_matches(&signing, &current, algorithm) {
        return Err(Error::internal(format!(
            "auth.private_key_file ({private_path}) does not match auth.public_key_file \
             ({public_path})"
        )));
    }
    let mut keys = KeySet {
        signing,
        kid: kid.clone(),
        verifying: Vec::new(),
    };
    keys.accept(kid, Verifier::Pem(current));
    for (i, path) in config.previous_public_key_files.iter().enumerate() {
        let (kid, key) = public(&format!("auth.previous_public_key_files[{i}]"), path)?;
        keys.accept(kid, Verifier::Pem(key));
    }
    Ok(keys)
}

/// Whether what `signing` signs, `verifying` verifies.
fn key_pair_matches(signing: &EncodingKey, verifying: &DecodingKey, algorithm: Algorithm) -> bool {
    const PROBE: &[u8] = b"flagstone key pair check";
    jsonwebtoken::crypto::sign(PROBE, signing, algorithm)
        .and_then(|signature| jsonwebtoken::crypto::verify(&signature, PROBE, verifying, algorithm))
        .unwrap_or(false)
}

/// The bytes of a key file; errors name the setting and the path, never the contents.
fn read_key_file(setting: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|error| Error::internal(format!("{setting}: cannot read {path}: {error}")))
}

fn algorithm(algorithm: JwtAlgorithm) -> Algorithm {
    match algorithm {
        JwtAlgorithm::HS256 => Algorithm::HS256,
        JwtAlgorithm::EdDSA => Algorithm::EdDSA,
        JwtAlgorithm::RS256 => Algorithm::RS256,
    }
}

/// The `alg` header value of the algorithms Flagstone uses.
fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::EdDSA => "EdDSA",
        Algorithm::RS256 => "RS256",
        _ => "HS256",
    }
}

/// A key's `kid`: the first 8 bytes of the SHA-256 of its material, unpadded base64url.
fn fingerprint(material: &[u8]) -> String {
    let digest = digest::digest(&digest::SHA256, material);
    URL_SAFE_NO_PAD.encode(&digest.as_ref()[..8])
}

/// 128 random bits, unpadded base64url.
fn random_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(Error::internal)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{Config, Secret};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(SECRET, "iss", "aud", Duration::from_secs(60))
    }

    #[test]
    fn issued_tokens_carry_the_settings() {
        let keys = keys();
        let roles = vec!["user".to_owned()];
        let (token, claims) = keys.issue("u1", &roles, Some("s1")).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.roles, roles);
        assert_eq!((claims.iss.as_str(), claims.aud.as_str()), ("iss", "aud"));
        assert_eq!(claims.sid.as_deref(), Some("s1"));
        assert_eq!(claims.nbf, None);
        assert_eq!(claims.exp - claims.iat, 60);
        assert_eq!(URL_SAFE_NO_PAD.decode(&claims.jti).unwrap().len(), 16);
        assert_eq!(keys.verify(&token).unwrap(), claims);
        assert_eq!(keys.ttl(), Duration::from_secs(60));
        let (_, again) = keys.issue("u1", &roles, None).unwrap();
        assert_ne!(again.jti, claims.jti);
        assert_eq!(again.sid, None);
    }

    #[test]
    fn a_token_without_sid_has_no_sid_claim() {
        let (token, _) = keys().issue("u1", &[], None).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert!(payload.get("sid").is_none(), "{payload}");
    }

    #[test]
    fn the_kid_is_a_short_fingerprint() {
        let kid = fingerprint(SECRET);
        assert_eq!(kid.len(), 11);
        assert_eq!(fingerprint(SECRET), kid);
        assert_ne!(fingerprint(b"another secret"), kid);
        assert_eq!(
            fingerprint(b""),
            URL_SAFE_NO_PAD.encode([0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14])
        );
    }

    #[test]
    fn codes_and_messages_are_fixed() {
        let all = [
            (TokenError::Malformed, "token_malformed"),
            (TokenError::WrongAlgorithm, "token_algorithm"),
            (TokenError::UnknownKey, "token_unknown_key"),
            (TokenError::BadSignature, "token_signature"),
            (TokenError::Expired, "token_expired"),
            (TokenError::NotYetValid, "token_not_yet_valid"),
            (TokenError::WrongIssuer, "token_issuer"),
            (TokenError::WrongAudience, "token_audience"),
            (TokenError::MissingClaim, "token_claims"),
        ];
        for (error, code) in all {
            assert_eq!(error.code(), code);
            assert!(error.to_string().starts_with("the token"), "{error}");
        }
    }

    #[test]
    fn a_missing_secret_is_random_outside_production_and_refused_in_it() {
        let config = Config::defaults(Profile::Development).auth;
        let first = JwtKeys::from_config(&config, Profile::Development).unwrap();
        let second = JwtKeys::from_config(&config, Profile::Development).unwrap();
        let (token, _) = first.issue("u1", &[], None).unwrap();
        assert!(first.verify(&token).is_ok());
        assert_eq!(second.verify(&token), Err(TokenError::UnknownKey));

        let error = JwtKeys::from_config(&config, Profile::Production).unwrap_err();
        assert!(error.to_string().contains("auth.secret"), "{error}");

        let mut empty = config.clone();
        empty.secret = Some(Secret::new(""));
        assert!(JwtKeys::from_config(&empty, Profile::Test).is_err());
    }

    #[test]
    fn the_same_previous_secret_twice_is_one_key() {
        let mut config = Config::defaults(Profile::Test).auth;
        let secret = Secret::new(std::str::from_utf8(SECRET).unwrap());
        config.secret = Some(secret.clone());
        config.previous_secrets = vec![secret, Secret::new("old old old old old old old old!")];
        let keys = JwtKeys::from_config(&config, Profile::Test).unwrap();
        assert_eq!(keys.inner.verifying.len(), 2);
    }

    #[test]
    fn debug_shows_no_key_material() {
        let shown = format!("{:?}", keys());
        assert!(shown.contains(&fingerprint(SECRET)), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn key_file_errors_name_the_setting_and_path() {
        let mut config = Config::defaults(Profile::Test).auth;
        config.algorithm = JwtAlgorithm::EdDSA;
        let error = JwtKeys::from_config(&config, Profile::Test).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("auth.private_key_file is required"),
            "{error}"
        );

        config.private_key_file = Some("/nonexistent/flagstone-key.pem".to_owned());
        config.public_key_file = Some("/nonexistent/flagstone-key.pub.pem".to_owned());
        let error = JwtKeys::from_config(&config, Profile::Test)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("auth.private_key_file: cannot read /nonexistent/flagstone-key.pem"),
            "{error}"
        );
    }
}

//! Access tokens through the public API: round trips for HS256, EdDSA and RS256 with keys
//! from loaded configurations, hostile tokens crafted by hand (each refused with its own
//! `TokenError`), and key rotation.
//!
//! The key pairs are the test-only ones in `tests/fixtures/keys/`.

#![allow(clippy::unwrap_used)]

use std::{fs, path::PathBuf};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use flagstone::{
    auth::jwt::{Claims, JwtKeys, MAX_TOKEN_BYTES, TokenError},
    config::{ConfigLoader, Profile},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SECRET: &str = "current-secret-0123456789abcdef-0123456789";
const OLD_SECRET: &str = "previous-secret-0123456789abcdef-012345678";
const OTHER_SECRET: &str = "attacker-secret-0123456789abcdef-012345678";

// ---------------------------------------------------------------------------------------
// Keys from configuration

/// A file of `tests/fixtures/keys/`.
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    fs::read(fixture(name)).unwrap()
}

/// A TOML string holding the path of a fixture.
fn toml_path(name: &str) -> String {
    format!("{:?}", fixture(name).to_str().unwrap())
}

/// Keys from a configuration whose `flagstone.toml` has `auth` as its `[auth]` section.
fn keys_from(auth: &str) -> flagstone::Result<JwtKeys> {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("flagstone.toml"),
        format!("[auth]\n{auth}\n"),
    )
    .unwrap();
    let config = ConfigLoader::new()
        .dir(dir.path())
        .profile(Profile::Test)
        .env(Vec::<(String, String)>::new())
        .load()
        .unwrap_or_else(|error| panic!("{error}"));
    JwtKeys::from_config(&config.auth, config.profile)
}

fn hs256(secret: &str, previous: &[&str]) -> JwtKeys {
    keys_from(&format!(
        "secret = {secret:?}\nprevious_secrets = {previous:?}"
    ))
    .unwrap()
}

/// EdDSA keys signing with the `current` pair (`ed25519` or `ed25519-previous`) and also
/// accepting the public keys of `previous`.
fn eddsa(current: &str, previous: &[&str]) -> JwtKeys {
    let previous: Vec<String> = previous
        .iter()
        .map(|name| toml_path(&format!("{name}-public.pem")))
        .collect();
    keys_from(&format!(
        "algorithm = \"EdDSA\"\nprivate_key_file = {}\npublic_key_file = {}\n\
         previous_public_key_files = [{}]",
        toml_path(&format!("{current}-private.pem")),
        toml_path(&format!("{current}-public.pem")),
        previous.join(", "),
    ))
    .unwrap()
}

fn rs256() -> JwtKeys {
    keys_from(&format!(
        "algorithm = \"RS256\"\nprivate_key_file = {}\npublic_key_file = {}",
        toml_path("rsa-private.pem"),
        toml_path("rsa-public.pem"),
    ))
    .unwrap()
}

/// Every configured algorithm, with its name in headers.
fn all_keys() -> [(&'static str, JwtKeys); 3] {
    [
        ("HS256", hs256(SECRET, &[])),
        ("EdDSA", eddsa("ed25519", &[])),
        ("RS256", rs256()),
    ]
}

/// The `kid` a key gets: 8 bytes of the SHA-256 of its material, unpadded base64url.
fn fingerprint(material: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(material)[..8])
}

// ---------------------------------------------------------------------------------------
// Taking tokens apart and forging them

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// Part `index` (0 header, 1 payload) of `token`, as JSON.
fn json_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn issue(keys: &JwtKeys) -> String {
    keys.issue("user-1", &["user".to_owned()], Some("session-1"))
        .unwrap()
        .0
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// Claims a verifier accepts, as JSON, valid from now on for 15 minutes.
fn claims() -> Value {
    let now = now();
    json!({
        "sub": "user-1",
        "roles": ["user"],
        "jti": "AAAAAAAAAAAAAAAAAAAAAA",
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "iss": "flagstone",
        "aud": "flagstone",
    })
}

/// `claims` with `changes` applied: a `null` removes the claim.
fn claims_with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(name),
            value => claims
                .as_object_mut()
                .unwrap()
                .insert(name.clone(), value.clone()),
        };
    }
    claims
}

/// An HS256 token over `claims`, signed with `secret`, with `kid` in its header if given.
fn hs256_token(secret: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A token signed with the current HS256 secret, without `kid`, over `claims`.
fn signed(claims: &Value) -> String {
    hs256_token(SECRET, None, claims)
}

/// `message` (`header.payload`, base64url, however the header is spelled) with its HS256
/// signature under the current secret appended.
fn signed_raw(message: &str) -> String {
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

// ---------------------------------------------------------------------------------------
// Round trips

#[test]
fn every_algorithm_round_trips_with_kid_in_the_header() {
    for (alg, keys) in all_keys() {
        let roles = vec!["user".to_owned(), "editor".to_owned()];
        let (token, claims) = keys.issue("user-1", &roles, Some("session-1")).unwrap();
        assert_eq!(keys.verify(&token), Ok(claims.clone()), "{alg}");
        assert_eq!(claims.sub, "user-1");
        assert_eq!(claims.roles, roles);
        assert_eq!(claims.sid.as_deref(), Some("session-1"));
        assert_eq!(
            (claims.iss.as_str(), claims.aud.as_str()),
            ("flagstone", "flagstone")
        );
        assert_eq!(claims.exp - claims.iat, 15 * 60, "the default TTL");

        let header = json_part(&token, 0);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "JWT");
        let kid = header["kid"].as_str().unwrap();
        assert_eq!(kid.len(), 11, "{alg}: {kid}");
        let payload: Claims = serde_json::from_value(json_part(&token, 1)).unwrap();
        assert_eq!(payload, claims);
    }
}

#[test]
fn kids_are_fingerprints_of_the_secret_or_public_key_file() {
    let kid = |keys: &JwtKeys| json_part(&issue(keys), 0)["kid"].clone();
    assert_eq!(kid(&hs256(SECRET, &[])), fingerprint(SECRET.as_bytes()));
    let ed = fixture_bytes("ed25519-public.pem");
    assert_eq!(kid(&eddsa("ed25519", &[])), fingerprint(ed.trim_ascii()));
    let rsa = fixture_bytes("rsa-public.pem");
    assert_eq!(kid(&rs256()), fingerprint(rsa.trim_ascii()));
}

#[test]
fn a_session_less_token_round_trips_without_sid() {
    let keys = hs256(SECRET, &[]);
    let (token, claims) = keys.issue("user-1", &[], None).unwrap();
    assert_eq!(claims.sid, None);
    assert!(json_part(&token, 1).get("sid").is_none());
    assert_eq!(keys.verify(&token), Ok(claims));
}

#[test]
fn a_token_without_kid_is_tried_against_every_key() {
    let keys = hs256(SECRET, &[OLD_SECRET]);
    assert!(keys.verify(&signed(&claims())).is_ok());
    assert!(
        keys.verify(&hs256_token(OLD_SECRET, None, &claims()))
            .is_ok()
    );
}

// ---------------------------------------------------------------------------------------
// Algorithm attacks

#[test]
fn alg_none_is_refused() {
    for (_, keys) in all_keys() {
        let payload = issue(&keys).split('.').nth(1).unwrap().to_owned();
        for alg in ["none", "None", "NONE", ""] {
            let header = b64_json(&json!({ "alg": alg, "typ": "JWT" }));
            let token = format!("{header}.{payload}.");
            assert_eq!(
                keys.verify(&token),
                Err(TokenError::WrongAlgorithm),
                "{alg:?}"
            );
        }
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_refused_by_asymmetric_verifiers() {
    for (keys, public) in [
        (eddsa("ed25519", &[]), "ed25519-public.pem"),
        (rs256(), "rsa-public.pem"),
    ] {
        let real_kid = json_part(&issue(&keys), 0)["kid"]
            .as_str()
            .unwrap()
            .to_owned();
        let pem = fixture_bytes(public);
        for secret in [&pem[..], pem.trim_ascii()] {
            for kid in [Some(real_kid.as_str()), None] {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = kid.map(str::to_owned);
                let token =
                    jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret))
                        .unwrap();
                assert_eq!(
                    keys.verify(&token),
                    Err(TokenError::WrongAlgorithm),
                    "{public}"
                );
            }
        }
    }
}

#[test]
fn tokens_of_another_configured_algorithm_are_refused() {
    let keys = all_keys();
    for (alg, verifier) in &keys {
        for (other, signer) in &keys {
            if alg != other {
                let token = issue(signer);
                assert_eq!(
                    verifier.verify(&token),
                    Err(TokenError::WrongAlgorithm),
                    "{other} token, {alg} verifier"
                );
            }
        }
    }
    // A family member of the right algorithm is still another algorithm.
    let mut header = Header::new(Algorithm::HS512);
    header.kid = None;
    let token = jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        hs256(SECRET, &[]).verify(&token),
        Err(TokenError::WrongAlgorithm)
    );
}

// ---------------------------------------------------------------------------------------
// Keys and signatures

#[test]
fn a_token_signed_with_another_secret_is_refused() {
    let keys = hs256(SECRET, &[]);
    let our_kid = fingerprint(SECRET.as_bytes());
    for kid in [None, Some(our_kid.as_str())] {
        let token = hs256_token(OTHER_SECRET, kid, &claims());
        assert_eq!(
            keys.verify(&token),
            Err(TokenError::BadSignature),
            "{kid:?}"
        );
    }
}

#[test]
fn a_token_signed_with_an_unconfigured_key_pair_is_refused() {
    let keys = eddsa("ed25519", &[]);
    let stranger = eddsa("ed25519-previous", &[]);
    // With the stranger's kid: the key is unknown.
    assert_eq!(keys.verify(&issue(&stranger)), Err(TokenError::UnknownKey));
    // Without a kid, or claiming ours: the signature does not hold.
    let our_kid = json_part(&issue(&keys), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let private = EncodingKey::from_ed_pem(&fixture_bytes("ed25519-previous-private.pem")).unwrap();
    for kid in [None, Some(our_kid)] {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid;
        let token = jsonwebtoken::encode(&header, &claims(), &private).unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::BadSignature));
    }
}

#[test]
fn escaped_header_fields_are_read_like_plain_ones() {
    let keys = hs256(SECRET, &[]);
    let kid = fingerprint(SECRET.as_bytes());
    // The same header, every field spelled with a JSON escape: alg "HS256", typ "JWT", and
    // the kid with its first character escaped.
    let first = kid.chars().next().unwrap();
    let header = format!(
        r#"{{"alg":"HS\u0032\u0035\u0036","typ":"J\u0057T","kid":"\u{:04x}{}"}}"#,
        first as u32,
        &kid[first.len_utf8()..]
    );
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.as_bytes()),
        b64_json(&claims())
    );
    let token = signed_raw(&signing_input);
    assert_eq!(keys.verify(&token).unwrap().sub, "user-1");

    // An escaped kid that names no key is still unknown, and an escaped alg still counts.
    let stranger = header.replace(r#""kid":"\u"#, r#""kid":"x\u"#);
    let forged = format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(stranger.as_bytes()));
    assert_eq!(keys.verify(&forged), Err(TokenError::UnknownKey));
    let none = r#"{"alg":"n\u006fne","typ":"JWT"}"#;
    let forged = format!("{}.e30.", URL_SAFE_NO_PAD.encode(none.as_bytes()));
    assert_eq!(keys.verify(&forged), Err(TokenError::WrongAlgorithm));
}

#[test]
fn an_unknown_kid_is_refused_even_with_a_good_signature() {
    let keys = hs256(SECRET, &[]);
    for kid in ["nope", "", "AAAAAAAAAAA"] {
        let token = hs256_token(SECRET, Some(kid), &claims());
        assert_eq!(keys.verify(&token), Err(TokenError::UnknownKey), "{kid:?}");
    }
}

#[test]
fn a_payload_changed_after_signing_is_refused() {
    for (alg, keys) in all_keys() {
        let token = issue(&keys);
        let mut payload = json_part(&token, 1);
        payload["roles"] = json!(["admin"]);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64_json(&payload);
        assert_eq!(
            keys.verify(&parts.join(".")),
            Err(TokenError::BadSignature),
            "{alg}"
        );
    }
}

#[test]
fn a_truncated_missing_or_overlong_signature_is_refused() {
    for (alg, keys) in all_keys() {
        let token = issue(&keys);
        let (message, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let shorter = &signature[..signature.len() - 1];
        let truncated = format!("{message}.{}", URL_SAFE_NO_PAD.encode(shorter));
        assert_eq!(
            keys.verify(&truncated),
            Err(TokenError::BadSignature),
            "{alg}"
        );
        let unsigned = format!("{message}.");
        assert_eq!(
            keys.verify(&unsigned),
            Err(TokenError::BadSignature),
            "{alg}"
        );
        // The right signature with bytes after it, one or many.
        for extra in [1, 2, 40, 600] {
            let mut longer = signature.clone();
            longer.extend(std::iter::repeat_n(7u8, extra));
            let longer = format!("{message}.{}", URL_SAFE_NO_PAD.encode(&longer));
            assert_eq!(
                keys.verify(&longer),
                Err(TokenError::BadSignature),
                "{alg}, {extra} bytes more"
            );
        }
    }
}

#[test]
fn a_truncated_token_is_refused() {
    let keys = hs256(SECRET, &[]);
    let token = issue(&keys);
    let (message, _) = token.rsplit_once('.').unwrap();
    assert_eq!(keys.verify(message), Err(TokenError::Malformed));
    assert_eq!(
        keys.verify(&token[..token.len() / 2]),
        Err(TokenError::Malformed)
    );
    let header = token.split('.').next().unwrap();
    assert_eq!(keys.verify(header), Err(TokenError::Malformed));
}

// ---------------------------------------------------------------------------------------
// Not tokens at all

#[test]
fn garbage_is_malformed() {
    let keys = hs256(SECRET, &[]);
    let header = b64_json(&json!({ "alg": "HS256" }));
    let garbage = [
        "garbage",
        "Bearer abc",
        "a.b.c",
        "a.b.c.d",
        "💥.💥.💥",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        &format!("{}.e30.", URL_SAFE_NO_PAD.encode("not json")),
        &format!("{}.e30.", URL_SAFE_NO_PAD.encode("[\"HS256\"]")),
        &format!("{}.e30.", b64_json(&json!({ "kid": "x" }))),
        &format!("{header}=.e30."),
        &format!(" {header}.e30."),
    ];
    for token in garbage {
        assert_eq!(keys.verify(token), Err(TokenError::Malformed), "{token:?}");
    }
}

#[test]
fn empty_and_dots_only_are_malformed() {
    let keys = hs256(SECRET, &[]);
    for token in ["", ".", "..", "...", "...."] {
        assert_eq!(keys.verify(token), Err(TokenError::Malformed), "{token:?}");
    }
}

#[test]
fn a_huge_token_is_refused_before_any_work_even_when_signed() {
    let keys = hs256(SECRET, &[]);
    let roles: Vec<String> = (0..1000).map(|i| format!("role-{i}")).collect();
    let (token, _) = keys.issue("user-1", &roles, None).unwrap();
    assert!(token.len() > MAX_TOKEN_BYTES);
    assert_eq!(keys.verify(&token), Err(TokenError::Malformed));
    let padding = "A".repeat(MAX_TOKEN_BYTES);
    let forged = format!("{}.{padding}.sig", b64_json(&json!({ "alg": "HS256" })));
    assert_eq!(keys.verify(&forged), Err(TokenError::Malformed));
}

#[test]
fn critical_header_extensions_and_other_types_are_malformed() {
    let keys = hs256(SECRET, &[]);
    let payload = b64_json(&claims());
    for header in [
        json!({ "alg": "HS256", "crit": ["exp"], "exp": 1 }),
        json!({ "alg": "HS256", "typ": "refresh+jwt" }),
    ] {
        let token = signed_raw(&format!("{}.{payload}", b64_json(&header)));
        assert_eq!(keys.verify(&token), Err(TokenError::Malformed), "{header}");
    }
}

// ---------------------------------------------------------------------------------------
// Claims

#[test]
fn an_expired_token_is_refused_beyond_the_leeway_only() {
    let keys = hs256(SECRET, &[]);
    let now = now();
    let expired = claims_with(json!({ "iat": now - 1000, "nbf": now - 1000, "exp": now - 120 }));
    assert_eq!(keys.verify(&signed(&expired)), Err(TokenError::Expired));
    let within_leeway =
        claims_with(json!({ "iat": now - 1000, "nbf": now - 1000, "exp": now - 10 }));
    let claims = keys.verify(&signed(&within_leeway)).unwrap();
    assert_eq!(claims.exp, now - 10);
}

#[test]
fn a_token_from_the_future_is_refused_beyond_the_leeway_only() {
    let keys = hs256(SECRET, &[]);
    let now = now();
    let not_yet = claims_with(json!({ "nbf": now + 120 }));
    assert_eq!(keys.verify(&signed(&not_yet)), Err(TokenError::NotYetValid));
    let issued_later = claims_with(json!({ "iat": now + 120 }));
    assert_eq!(
        keys.verify(&signed(&issued_later)),
        Err(TokenError::NotYetValid)
    );
    let skewed = claims_with(json!({ "iat": now + 10, "nbf": now + 10 }));
    assert!(keys.verify(&signed(&skewed)).is_ok());
}

#[test]
fn the_wrong_issuer_is_refused() {
    let keys = hs256(SECRET, &[]);
    let token = signed(&claims_with(json!({ "iss": "someone-else" })));
    assert_eq!(keys.verify(&token), Err(TokenError::WrongIssuer));
}

#[test]
fn the_wrong_audience_is_refused() {
    let keys = hs256(SECRET, &[]);
    let token = signed(&claims_with(json!({ "aud": "another-api" })));
    assert_eq!(keys.verify(&token), Err(TokenError::WrongAudience));
}

#[test]
fn the_configured_issuer_and_audience_are_written_and_required() {
    let keys = keys_from(&format!(
        "secret = {SECRET:?}\nissuer = \"auth.example.com\"\naudience = \"api.example.com\""
    ))
    .unwrap();
    let (token, claims) = keys.issue("user-1", &[], None).unwrap();
    assert_eq!(claims.iss, "auth.example.com");
    assert_eq!(claims.aud, "api.example.com");
    assert!(keys.verify(&token).is_ok());
    // Tokens for the default issuer and audience are someone else's.
    assert_eq!(
        keys.verify(&signed(&self::claims())),
        Err(TokenError::WrongIssuer)
    );
}

#[test]
fn issued_tokens_carry_no_nbf_and_no_empty_roles() {
    for (alg, keys) in all_keys() {
        let (token, claims) = keys.issue("user-1", &[], None).unwrap();
        let payload = json_part(&token, 1);
        assert_eq!(payload.get("nbf"), None, "{alg}: {payload}");
        assert_eq!(payload.get("roles"), None, "{alg}: {payload}");
        assert_eq!(claims.nbf, None);
        assert_eq!(keys.verify(&token), Ok(claims), "{alg}");

        let roles = ["admin".to_owned()];
        let (token, claims) = keys.issue("user-1", &roles, None).unwrap();
        assert_eq!(json_part(&token, 1)["roles"], json!(["admin"]), "{alg}");
        assert_eq!(keys.verify(&token).unwrap().roles, claims.roles, "{alg}");
    }
}

#[test]
fn nbf_and_roles_are_optional_but_checked_when_present() {
    let keys = hs256(SECRET, &[]);
    let bare = keys
        .verify(&signed(&claims_with(json!({ "nbf": null, "roles": null }))))
        .unwrap();
    assert_eq!((bare.nbf, bare.roles.len()), (None, 0));
    let now = now();
    let claims = keys
        .verify(&signed(&claims_with(json!({ "nbf": now }))))
        .unwrap();
    assert_eq!(claims.nbf, Some(now));
    assert_eq!(claims.roles, ["user"]);
    for changes in [
        json!({ "nbf": now + 120 }),
        json!({ "nbf": null, "iat": now + 120 }),
    ] {
        let token = signed(&claims_with(changes.clone()));
        assert_eq!(
            keys.verify(&token),
            Err(TokenError::NotYetValid),
            "{changes}"
        );
    }
    for changes in [json!({ "nbf": "later" }), json!({ "roles": [1] })] {
        let token = signed(&claims_with(changes.clone()));
        assert_eq!(
            keys.verify(&token),
            Err(TokenError::MissingClaim),
            "{changes}"
        );
    }
}

#[test]
fn missing_or_mistyped_claims_are_refused() {
    let keys = hs256(SECRET, &[]);
    let cases = [
        json!({ "jti": null }),
        json!({ "sub": null }),
        json!({ "exp": null }),
        json!({ "iat": null }),
        json!({ "iss": null }),
        json!({ "aud": null }),
        json!({ "exp": "tomorrow" }),
        json!({ "roles": "admin" }),
        json!({ "sub": 42 }),
        json!({ "aud": ["flagstone"] }),
    ];
    for changes in cases {
        let token = signed(&claims_with(changes.clone()));
        assert_eq!(
            keys.verify(&token),
            Err(TokenError::MissingClaim),
            "{changes}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Rotation

#[test]
fn a_token_signed_with_a_previous_secret_verifies_until_it_is_removed() {
    let old = hs256(OLD_SECRET, &[]);
    let token = issue(&old);

    let rotated = hs256(SECRET, &[OLD_SECRET]);
    let claims = rotated.verify(&token).unwrap();
    assert_eq!(claims.sub, "user-1");
    let fresh = issue(&rotated);
    assert_eq!(json_part(&fresh, 0)["kid"], fingerprint(SECRET.as_bytes()));
    assert_ne!(json_part(&fresh, 0)["kid"], json_part(&token, 0)["kid"]);

    let done = hs256(SECRET, &[]);
    assert_eq!(done.verify(&token), Err(TokenError::UnknownKey));
    assert!(done.verify(&fresh).is_ok());
}

#[test]
fn a_token_signed_with_a_previous_key_pair_verifies_until_it_is_removed() {
    let old = eddsa("ed25519-previous", &[]);
    let token = issue(&old);

    let rotated = eddsa("ed25519", &["ed25519-previous"]);
    assert_eq!(rotated.verify(&token).unwrap().sub, "user-1");
    let fresh = issue(&rotated);
    assert!(rotated.verify(&fresh).is_ok());
    assert_eq!(old.verify(&fresh), Err(TokenError::UnknownKey));

    let done = eddsa("ed25519", &[]);
    assert_eq!(done.verify(&token), Err(TokenError::UnknownKey));
    assert!(done.verify(&fresh).is_ok());
}

// ---------------------------------------------------------------------------------------
// Configuration errors

#[test]
fn key_files_that_do_not_fit_are_refused_without_showing_them() {
    let cases = [
        (
            format!(
                "algorithm = \"EdDSA\"\nprivate_key_file = {}\npublic_key_file = {}",
                toml_path("ed25519-private.pem"),
                toml_path("ed25519-previous-public.pem"),
            ),
            "does not match auth.public_key_file",
        ),
        (
            format!(
                "algorithm = \"EdDSA\"\nprivate_key_file = {}\npublic_key_file = {}",
                toml_path("rsa-private.pem"),
                toml_path("rsa-public.pem"),
            ),
            "auth.private_key_file",
        ),
        (
            format!(
                "algorithm = \"RS256\"\nprivate_key_file = {}\npublic_key_file = {}",
                toml_path("rsa-private.pem"),
                toml_path("ed25519-public.pem"),
            ),
            "auth.public_key_file",
        ),
        (
            format!(
                "algorithm = \"RS256\"\nprivate_key_file = {}\npublic_key_file = {}\n\
                 previous_public_key_files = [{}]",
                toml_path("rsa-private.pem"),
                toml_path("rsa-public.pem"),
                toml_path("README.md"),
            ),
            "auth.previous_public_key_files[0]",
        ),
        (
            format!(
                "algorithm = \"EdDSA\"\nprivate_key_file = {}\npublic_key_file = {}",
                toml_path("missing.pem"),
                toml_path("ed25519-public.pem"),
            ),
            "auth.private_key_file: cannot read",
        ),
    ];
    for (auth, expected) in cases {
        let error = keys_from(&auth).unwrap_err().to_string();
        assert!(
            error.contains(expected),
            "{error:?} should mention {expected:?}"
        );
        assert!(!error.contains("BEGIN"), "{error}");
    }
}

#[test]
fn token_errors_never_echo_the_token() {
    let keys = hs256(SECRET, &[]);
    let token = hs256_token(OTHER_SECRET, None, &claims());
    let error = keys.verify(&token).unwrap_err();
    assert!(!error.to_string().contains(&token[..20]));
    assert_eq!(error.code(), "token_signature");
}

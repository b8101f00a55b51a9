//! Refresh tokens and single-use tokens, stored only as SHA-256 hashes.
//!
//! A login starts a session *family*: its id is the `sid` claim of every access token issued
//! in it. Each refresh token is one record of the family (`auth_sessions`):
//!
//! ```text
//! { _id, family, user_id, token_hash, expires_at, rotated }
//! ```
//!
//! Refreshing marks the presented record `rotated` (atomically: one `find_one_and_update`
//! that matches only an unrotated, unexpired record) and inserts the next one. A rotated
//! token presented again means two parties hold it — a thief and the owner — so the whole
//! family is deleted and both must log in again. Rotated records stay until their expiry
//! for that check; a TTL index on `expires_at` removes them.
//!
//! Tokens are 256 bits from the operating system's generator, base64url; a database leak
//! exposes only their hashes, which are useless as tokens. A fast hash is right here: the
//! tokens are random, so there is nothing to brute-force.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use bson::{Document, doc, oid::ObjectId};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    store::{Collection, Index, Store, Timestamp},
};

/// The collection of refresh-token records.
pub const SESSIONS_COLLECTION: &str = "auth_sessions";
/// The collection of single-use tokens (email verification, password reset).
pub const TOKENS_COLLECTION: &str = "auth_tokens";

/// A new random token: 256 bits, base64url without padding (43 characters).
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::internal(std::io::Error::other(e.to_string())))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The SHA-256 of `token`, hex: what the database keeps.
pub fn token_hash(token: &str) -> String {
    crate::hex::encode(ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref())
}

/// How often expired records are deleted where the server has no TTL indexes.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// Creates `indexes`, then a TTL index on `expires_at`. Where the server does not
/// implement TTL indexes (FerretDB 1.x answers 501), a background task deletes expired
/// records every minute instead. Lookups check expiry themselves, so neither is needed
/// for correctness, only for space.
async fn sync_with_expiry<T>(collection: &Collection<T>, indexes: Vec<Index>) -> Result<()>
where
    T: Serialize + serde::de::DeserializeOwned + Send + Sync + Unpin + 'static,
{
    collection.sync_indexes(indexes).await?;
    let ttl = Index::new(doc! { "expires_at": 1 }).expire_after(Duration::ZERO);
    match collection.sync_indexes([ttl]).await {
        Err(e) if e.kind() == crate::ErrorKind::Unsupported => {
            tracing::warn!(
                collection = collection.name(),
                "the database has no TTL indexes: expired records are deleted every minute instead"
            );
            let records = collection.typed::<Document>();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(SWEEP_INTERVAL);
                loop {
                    tick.tick().await;
                    let expired = doc! { "expires_at": { "$lte": Timestamp::now() } };
                    if let Err(e) = records.delete_many(expired).await {
                        tracing::warn!(collection = records.name(), error = %e, "could not delete expired records");
                    }
                }
            });
            Ok(())
        }
        other => other,
    }
}

/// Whether `token` has the shape of one of ours, checked before touching the database.
fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SessionRecord {
    #[serde(rename = "_id")]
    id: ObjectId,
    family: ObjectId,
    user_id: String,
    token_hash: String,
    expires_at: Timestamp,
    rotated: bool,
}

/// A session after a successful login or refresh.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Session {
    /// The family id: the `sid` claim of its access tokens.
    pub id: String,
    /// Whose session it is.
    pub user_id: String,
    /// The new refresh token, to hand to the client once.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub expires_at: Timestamp,
}

/// Why a refresh token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshError {
    /// Unknown, malformed or revoked.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Already rotated: the family has been revoked.
    Reused,
}

impl RefreshError {
    /// The problem's machine code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Invalid => "refresh_token_invalid",
            Self::Expired => "refresh_token_expired",
            Self::Reused => "refresh_token_reused",
        }
    }

    /// A 401 problem for this refusal.
    pub fn into_error(self) -> Error {
        let detail = match self {
            Self::Invalid => "the refresh token is not valid",
            Self::Expired => "the refresh token has expired",
            Self::Reused => {
                "the refresh token was already used; every session of this login has been revoked"
            }
        };
        Error::unauthorized(detail).with_code(self.code())
    }
}

/// Refresh-token sessions in [`SESSIONS_COLLECTION`].
#[derive(Clone, Debug)]
pub struct Sessions {
    records: Collection<SessionRecord>,
    ttl: Duration,
}

impl Sessions {
    /// Sessions on `store` whose refresh tokens live for `ttl`.
    pub fn new(store: &Store, ttl: Duration) -> Self {
        Self {
            records: store.collection(SESSIONS_COLLECTION),
            ttl,
        }
    }

    /// The indexes the lookups need (the TTL index on `expires_at` comes on top).
    pub fn indexes() -> Vec<Index> {
        vec![
            Index::new(doc! { "token_hash": 1 }).unique(),
            Index::new(doc! { "family": 1 }),
            Index::new(doc! { "user_id": 1 }),
        ]
    }

    /// Creates the indexes and the TTL index that cleans expired records (idempotent).
    pub async fn sync_indexes(&self) -> Result<()> {
        sync_with_expiry(&self.records, Self::indexes()).await
    }

    /// Starts a new session family for `user_id`.
    pub async fn start(&self, user_id: &str) -> Result<Session> {
        self.insert(ObjectId::new(), user_id).await
    }

    async fn insert(&self, family: ObjectId, user_id: &str) -> Result<Session> {
        let refresh_token = random_token()?;
        let expires_at = Timestamp::now().after(self.ttl);
        let record = SessionRecord {
            id: ObjectId::new(),
            family,
            user_id: user_id.to_owned(),
            token_hash: token_hash(&refresh_token),
            expires_at,
            rotated: false,
        };
        self.records.insert_one(&record).await?;
        Ok(Session {
            id: family.to_hex(),
            user_id: record.user_id,
            refresh_token,
            expires_at,
        })
    }

    /// Exchanges `refresh_token` for the next one of its family. A token that was already
    /// exchanged revokes the family ([`RefreshError::Reused`]).
    pub async fn rotate(&self, refresh_token: &str) -> Result<Result<Session, RefreshError>> {
        if !well_formed(refresh_token) {
            return Ok(Err(RefreshError::Invalid));
        }
        let hash = token_hash(refresh_token);
        let now = Timestamp::now();
        let claimed = self
            .records
            .find_one_and_update(
                doc! { "token_hash": &hash, "rotated": false, "expires_at": { "$gt": now } },
                doc! { "$set": { "rotated": true } },
            )
            .await?;
        if let Some(record) = claimed {
            return self.insert(record.family, &record.user_id).await.map(Ok);
        }
        let Some(record) = self.records.find_one(doc! { "token_hash": &hash }).await? else {
            return Ok(Err(RefreshError::Invalid));
        };
        if record.rotated {
            let revoked = self
                .records
                .delete_many(doc! { "family": record.family })
                .await?;
            tracing::warn!(
                user_id = %record.user_id,
                session = %record.family,
                revoked,
                "a rotated refresh token was presented again: session revoked"
            );
            return Ok(Err(RefreshError::Reused));
        }
        Ok(Err(RefreshError::Expired))
    }

    /// Whether the session family `sid` still has a live refresh token.
    pub async fn is_active(&self, sid: &str) -> Result<bool> {
        let Ok(family) = ObjectId::parse_str(sid) else {
            return Ok(false);
        };
        self.records
            .exists(doc! { "family": family, "rotated": false, "expires_at": { "$gt": Timestamp::now() } })
            .await
    }

    /// Ends the session family `sid` (logout). Returns whether it existed.
    pub async fn revoke(&self, sid: &str) -> Result<bool> {
        let Ok(family) = ObjectId::parse_str(sid) else {
            return Ok(false);
        };
        Ok(self.records.delete_many(doc! { "family": family }).await? > 0)
    }

    /// Ends every session of `user_id` except `keep` (logout everywhere, password change).
    pub async fn revoke_user(&self, user_id: &str, keep: Option<&str>) -> Result<u64> {
        let mut filter: Document = doc! { "user_id": user_id };
        if let Some(family) = keep.and_then(|sid| ObjectId::parse_str(sid).ok()) {
            filter.insert("family", doc! { "$ne": family });
        }
        self.records.delete_many(filter).await
    }
}

/// What a single-use token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Confirms that the user owns an email address.
    VerifyEmail,
    /// Lets the user choose a new password.
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TokenRecord {
    #[serde(rename = "_id")]
    id: ObjectId,
    purpose: String,
    user_id: String,
    /// What the token vouches for: the address being verified.
    subject: String,
    token_hash: String,
    expires_at: Timestamp,
}

/// A consumed single-use token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Redeemed {
    /// Whose token it was.
    pub user_id: String,
    /// What it vouched for (for email verification, the address).
    pub subject: String,
}

/// Single-use tokens in [`TOKENS_COLLECTION`]: email verification and password reset.
#[derive(Clone, Debug)]
pub struct OneTimeTokens {
    records: Collection<TokenRecord>,
}

impl OneTimeTokens {
    /// Single-use tokens on `store`.
    pub fn new(store: &Store) -> Self {
        Self {
            records: store.collection(TOKENS_COLLECTION),
        }
    }

    /// The indexes the lookups need (the TTL index on `expires_at` comes on top).
    pub fn indexes() -> Vec<Index> {
        vec![
            Index::new(doc! { "token_hash": 1 }).unique(),
            Index::new(doc! { "user_id": 1, "purpose": 1 }),
        ]
    }

    /// Creates the indexes and the TTL index that cleans expired tokens (idempotent).
    pub async fn sync_indexes(&self) -> Result<()> {
        sync_with_expiry(&self.records, Self::indexes()).await
    }

    /// Issues a token for `purpose`, replacing the user's earlier ones for it.
    pub async fn issue(
        &self,
        purpose: Purpose,
        user_id: &str,
        subject: &str,
        ttl: Duration,
    ) -> Result<String> {
        self.records
            .delete_many(doc! { "user_id": user_id, "purpose": purpose.as_str() })
            .await?;
        let token = random_token()?;
        let record = TokenRecord {
            id: ObjectId::new(),
            purpose: purpose.as_str().to_owned(),
            user_id: user_id.to_owned(),
            subject: subject.to_owned(),
            token_hash: token_hash(&token),
            expires_at: Timestamp::now().after(ttl),
        };
        self.records.insert_one(&record).await?;
        Ok(token)
    }

    /// Consumes `token` if it is a live token for `purpose`: a token works once.
    pub async fn redeem(&self, purpose: Purpose, token: &str) -> Result<Option<Redeemed>> {
        if !well_formed(token) {
            return Ok(None);
        }
        let record = self
            .records
            .find_one_and_delete(
                doc! {
                    "token_hash": token_hash(token),
                    "purpose": purpose.as_str(),
                    "expires_at": { "$gt": Timestamp::now() },
                },
                None,
            )
            .await?;
        Ok(record.map(|r| Redeemed {
            user_id: r.user_id,
            subject: r.subject,
        }))
    }

    /// Deletes every token of `user_id` for `purpose`.
    pub async fn revoke_user(&self, purpose: Purpose, user_id: &str) -> Result<u64> {
        self.records
            .delete_many(doc! { "user_id": user_id, "purpose": purpose.as_str() })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_are_hex() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_ne!(a, b);
        assert!(well_formed(&a));
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert!(!well_formed("short"));
        assert!(!well_formed(&format!("{}$", &a[..42])));
    }

    #[tokio::test]
    async fn rotation_reuse_and_revocation() {
        let store = Store::memory();
        let sessions = Sessions::new(&store, Duration::from_secs(60));
        sessions.sync_indexes().await.unwrap();
        let first = sessions.start("u1").await.unwrap();
        let second = sessions
            .rotate(&first.refresh_token)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.id, first.id, "the family survives rotation");
        assert!(sessions.is_active(&first.id).await.unwrap());
        // The first token again: reuse, the family is gone, the second token too.
        assert_eq!(
            sessions
                .rotate(&first.refresh_token)
                .await
                .unwrap()
                .unwrap_err(),
            RefreshError::Reused
        );
        assert_eq!(
            sessions
                .rotate(&second.refresh_token)
                .await
                .unwrap()
                .unwrap_err(),
            RefreshError::Invalid
        );
        assert!(!sessions.is_active(&first.id).await.unwrap());
        assert_eq!(
            sessions.rotate("garbage").await.unwrap().unwrap_err(),
            RefreshError::Invalid
        );
        // Revoking one user's sessions but the current one.
        let a = sessions.start("u2").await.unwrap();
        let b = sessions.start("u2").await.unwrap();
        assert_eq!(sessions.revoke_user("u2", Some(&a.id)).await.unwrap(), 1);
        assert!(sessions.is_active(&a.id).await.unwrap());
        assert!(!sessions.is_active(&b.id).await.unwrap());
    }

    #[tokio::test]
    async fn expired_refresh_tokens_are_refused() {
        let store = Store::memory();
        let sessions = Sessions::new(&store, Duration::from_millis(1));
        let s = sessions.start("u1").await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(
            sessions
                .rotate(&s.refresh_token)
                .await
                .unwrap()
                .unwrap_err(),
            RefreshError::Expired
        );
    }

    #[tokio::test]
    async fn one_time_tokens_work_once_and_replace_earlier_ones() {
        let store = Store::memory();
        let tokens = OneTimeTokens::new(&store);
        let ttl = Duration::from_secs(60);
        let old = tokens
            .issue(Purpose::ResetPassword, "u1", "a@x.io", ttl)
            .await
            .unwrap();
        let new = tokens
            .issue(Purpose::ResetPassword, "u1", "a@x.io", ttl)
            .await
            .unwrap();
        assert!(
            tokens
                .redeem(Purpose::ResetPassword, &old)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            tokens
                .redeem(Purpose::VerifyEmail, &new)
                .await
                .unwrap()
                .is_none()
        );
        let redeemed = tokens
            .redeem(Purpose::ResetPassword, &new)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(redeemed.user_id, "u1");
        assert!(
            tokens
                .redeem(Purpose::ResetPassword, &new)
                .await
                .unwrap()
                .is_none()
        );
    }
}

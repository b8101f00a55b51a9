//! Passwords (argon2id on the blocking pool), HS256 tokens and the auth extractors.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use bson::oid::ObjectId;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore};

use crate::{
    AppState,
    error::{AppError, AppResult},
};

/// How long a token is valid.
const TOKEN_TTL_SECS: u64 = 24 * 60 * 60;

/// Password hashing with the same cost as Flagstone's default (argon2id, m = 19 MiB,
/// t = 2, p = 1), at most one hash per core at a time, off the async runtime.
pub(crate) struct Passwords {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: OnceCell<String>,
}

impl Passwords {
    pub(crate) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            params: Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters"),
            permits: Arc::new(Semaphore::new(cores)),
            dummy: OnceCell::new(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(Argon2<'static>) -> T + Send + 'static,
    ) -> AppResult<T> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(argon2)
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// A PHC string of `password` with a fresh 16-byte salt.
    pub(crate) async fn hash(&self, password: String) -> AppResult<String> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| AppError::Internal(e.to_string()))?;
        self.run(move |argon2| {
            argon2
                .hash_password_with_salt(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
        })
        .await?
        .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// Whether `password` matches the stored PHC string.
    pub(crate) async fn verify(&self, password: String, phc: String) -> AppResult<bool> {
        self.run(move |argon2| {
            PasswordHash::new(&phc)
                .is_ok_and(|hash| argon2.verify_password(password.as_bytes(), &hash).is_ok())
        })
        .await
    }

    /// Spends as long as [`Passwords::verify`] on an unknown account, so response times do
    /// not tell which emails are registered.
    pub(crate) async fn verify_dummy(&self, password: String) -> AppResult<()> {
        let phc = self
            .dummy
            .get_or_try_init(|| self.hash("dummy password".to_owned()))
            .await?
            .clone();
        self.verify(password, phc).await.map(drop)
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

/// HS256 signing and verification of the access tokens.
pub(crate) struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Tokens {
    pub(crate) fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation: Validation::new(jsonwebtoken::Algorithm::HS256),
        }
    }

    pub(crate) fn issue(&self, user: ObjectId) -> AppResult<String> {
        let claims = Claims {
            sub: user.to_hex(),
            exp: jsonwebtoken::get_current_timestamp() + TOKEN_TTL_SECS,
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    fn verify(&self, token: &str) -> Option<ObjectId> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        data.claims.sub.parse().ok()
    }
}

/// The signed-in user: a request without a valid token is answered 401.
pub(crate) struct AuthUser {
    /// The user's id.
    pub(crate) id: ObjectId,
    /// The token the request carried, echoed back in the user body.
    pub(crate) token: String,
}

/// The signed-in user if the request carries a valid token.
pub(crate) struct MaybeUser(pub(crate) Option<ObjectId>);

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Token ")
        .or_else(|| value.strip_prefix("Bearer "))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let token = bearer(parts).ok_or(AppError::Unauthorized)?;
        let id = state.tokens.verify(token).ok_or(AppError::Unauthorized)?;
        Ok(Self {
            id,
            token: token.to_owned(),
        })
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        match bearer(parts) {
            None => Ok(Self(None)),
            Some(token) => state
                .tokens
                .verify(token)
                .map(|id| Self(Some(id)))
                .ok_or(AppError::Unauthorized),
        }
    }
}

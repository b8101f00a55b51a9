//! Registration, login, the current user and their settings.

use flagstone::{
    Result,
    auth::account::email_key,
    error::{ErrorKind, FieldError},
    prelude::*,
    store::Document,
};
use serde::Deserialize;

use super::Conduit;
use crate::models::{AccountDoc, User, UserDoc};

/// What registration takes.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Unique; shown on profiles and in URLs.
    #[validate(non_empty, len(max = 64))]
    pub username: String,
    /// Unique, compared without case.
    #[validate(non_empty, email, len(max = 254))]
    pub email: String,
    /// 8 to 128 characters.
    #[validate(non_empty)]
    pub password: String,
}

/// What login takes.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The email address.
    #[validate(non_empty, len(max = 254))]
    pub email: String,
    /// The password.
    #[validate(non_empty, len(max = 1024))]
    pub password: String,
}

/// What `PUT /user` may change; absent fields stay as they are, and an empty `bio` or
/// `image` clears it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// A new address.
    #[validate(non_empty, email, len(max = 254))]
    pub email: Option<String>,
    /// A new username.
    #[validate(non_empty, len(max = 64))]
    pub username: Option<String>,
    /// A new password.
    #[validate(non_empty)]
    pub password: Option<String>,
    /// A new biography.
    #[validate(len(max = 10_000))]
    pub bio: Option<String>,
    /// A new picture URL.
    #[validate(len(max = 2_000))]
    pub image: Option<String>,
}

fn taken(field: &'static str) -> FieldError {
    FieldError::new(field, "taken", "has already been taken")
}

fn invalid_credentials() -> Error {
    Error::unauthorized("email or password is invalid").with_code("invalid_credentials")
}

impl Conduit {
    /// Registers a user and returns them with a token; 422 naming `email` and/or
    /// `username` when taken, or `password` when it breaks the policy.
    pub async fn register(&self, new: NewUser) -> Result<User> {
        let auth = &self.0.auth;
        let key = email_key(&new.email);
        let mut errors = auth.passwords().policy_errors("password", &new.password);
        errors.extend(
            self.taken_fields(Some(&key), Some(&new.username), None)
                .await?,
        );
        if !errors.is_empty() {
            return Err(Error::validation(errors));
        }
        let user = UserDoc {
            id: Id::new(),
            username: new.username,
            email: new.email.trim().to_owned(),
            email_key: key,
            password_hash: auth.passwords().hash(&new.password).await?,
            bio: None,
            image: None,
            following: Vec::new(),
        };
        self.0.users.insert_one(&user).await.map_err(lost_race)?;
        tracing::info!(user_id = %user.id, "registered");
        self.signed_in(user)
    }

    /// Checks the credentials (throttled per account and client IP, with the same work
    /// for unknown addresses) and returns the user with a fresh token.
    pub async fn login(&self, login: Login, ip: Option<std::net::IpAddr>) -> Result<User> {
        let auth = &self.0.auth;
        let key = email_key(&login.email);
        auth.check_throttle(&key, ip)?;
        let passwords = auth.passwords();
        let Some(user) = self.0.users.find_one(doc! { "email_key": &key }).await? else {
            passwords.verify_dummy(&login.password).await;
            auth.throttle().failure(&key, ip);
            return Err(invalid_credentials());
        };
        let verification = passwords
            .verify(&login.password, &user.password_hash)
            .await?;
        if !verification.valid {
            auth.throttle().failure(&key, ip);
            return Err(invalid_credentials());
        }
        auth.throttle().success(&key);
        if verification.needs_rehash {
            // Raise the stored hash to the current parameters, off the request's path.
            let (conduit, id, password) = (self.clone(), user.id, login.password);
            tokio::spawn(async move {
                let upgraded = match conduit.0.auth.passwords().hash(&password).await {
                    Ok(hash) => conduit
                        .0
                        .users
                        .update_one(
                            doc! { "_id": id },
                            doc! { "$set": { "password_hash": hash } },
                        )
                        .await
                        .map(drop),
                    Err(e) => Err(e),
                };
                if let Err(e) = upgraded {
                    tracing::warn!(user_id = %id, error = %e, "could not upgrade a password hash");
                }
            });
        }
        self.signed_in(user)
    }

    /// The user `id` with the token they presented; 401 when the account is gone.
    pub async fn current(&self, id: Id<UserDoc>, token: String) -> Result<User> {
        let user = self.user(id).await?;
        Ok(user_view(user, token))
    }

    /// Applies `changes` to user `id`; 422 when the new email or username is taken.
    pub async fn update_user(
        &self,
        id: Id<UserDoc>,
        changes: UserChanges,
        token: String,
    ) -> Result<User> {
        let key = changes.email.as_deref().map(email_key);
        let mut errors = match &changes.password {
            Some(password) => self.0.auth.passwords().policy_errors("password", password),
            None => Vec::new(),
        };
        errors.extend(
            self.taken_fields(key.as_deref(), changes.username.as_deref(), Some(id))
                .await?,
        );
        if !errors.is_empty() {
            return Err(Error::validation(errors));
        }
        let mut set = Document::new();
        if let (Some(email), Some(key)) = (&changes.email, key) {
            set.insert("email", email.trim());
            set.insert("email_key", key);
        }
        if let Some(username) = changes.username {
            set.insert("username", username);
        }
        if let Some(password) = &changes.password {
            set.insert(
                "password_hash",
                self.0.auth.passwords().hash(password).await?,
            );
        }
        for (field, value) in [("bio", changes.bio), ("image", changes.image)] {
            if let Some(value) = value {
                let value = (!value.trim().is_empty()).then_some(value);
                set.insert(field, value);
            }
        }
        if !set.is_empty() {
            self.0
                .users
                .update_one(doc! { "_id": id }, doc! { "$set": set })
                .await
                .map_err(lost_race)?;
        }
        self.current(id, token).await
    }

    /// What user `id` sees of their account, or 401: a valid token for a deleted account
    /// authenticates nobody. Read with a projection: the password hash and the follow list
    /// stay in the database.
    async fn user(&self, id: Id<UserDoc>) -> Result<AccountDoc> {
        self.0
            .accounts
            .find(doc! { "_id": id })
            .projection(doc! { "username": 1, "email": 1, "bio": 1, "image": 1 })
            .one()
            .await?
            .ok_or_else(|| Error::unauthorized("the account no longer exists"))
    }

    /// The user with a newly signed token.
    fn signed_in(&self, user: UserDoc) -> Result<User> {
        let (token, _) = self.0.auth.keys().issue(&user.id.to_string(), &[], None)?;
        Ok(user_view(user.into(), token))
    }

    /// `email` and/or `username` errors for values other users hold already.
    async fn taken_fields(
        &self,
        key: Option<&str>,
        username: Option<&str>,
        except: Option<Id<UserDoc>>,
    ) -> Result<Vec<FieldError>> {
        let not_me = |mut filter: Document| {
            if let Some(id) = except {
                filter.insert("_id", doc! { "$ne": id });
            }
            filter
        };
        let mut errors = Vec::new();
        if let Some(key) = key
            && self
                .0
                .users
                .exists(not_me(doc! { "email_key": key }))
                .await?
        {
            errors.push(taken("email"));
        }
        if let Some(username) = username
            && self
                .0
                .users
                .exists(not_me(doc! { "username": username }))
                .await?
        {
            errors.push(taken("username"));
        }
        Ok(errors)
    }
}

fn user_view(user: AccountDoc, token: String) -> User {
    User {
        email: user.email,
        token,
        username: user.username,
        bio: user.bio,
        image: user.image,
    }
}

/// A duplicate key after the checks passed: another request took the value meanwhile.
fn lost_race(error: Error) -> Error {
    match error.kind() {
        ErrorKind::Conflict => Error::validation(vec![FieldError::new(
            "body",
            "taken",
            "email or username has already been taken",
        )]),
        _ => error,
    }
}

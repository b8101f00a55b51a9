//! Registration, login and the current user.

use axum::{Json, extract::State, http::StatusCode};
use bson::{Document, doc, oid::ObjectId};
use serde::{Deserialize, Serialize};

use crate::{
    AppState,
    auth::AuthUser,
    db::User,
    error::{AppError, AppResult, is_duplicate_key, required},
};

#[derive(Deserialize)]
pub(crate) struct Wrapped<T> {
    user: T,
}

#[derive(Deserialize)]
pub(crate) struct NewUser {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct UserChanges {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
    bio: Option<String>,
    image: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct UserBody {
    user: UserView,
}

#[derive(Serialize)]
struct UserView {
    email: String,
    token: String,
    username: String,
    bio: Option<String>,
    image: Option<String>,
}

fn body(user: User, token: String) -> Json<UserBody> {
    Json(UserBody {
        user: UserView {
            email: user.email,
            token,
            username: user.username,
            bio: user.bio,
            image: user.image,
        },
    })
}

/// Which unique field a duplicate-key failure on `users` was about.
async fn taken(state: &AppState, username: &str) -> AppError {
    match state.db.user_id(username).await {
        Ok(Some(_)) => AppError::Invalid("username", "has already been taken"),
        Ok(None) => AppError::Invalid("email", "has already been taken"),
        Err(error) => error,
    }
}

pub(crate) async fn register(
    State(state): State<AppState>,
    Json(Wrapped { user }): Json<Wrapped<NewUser>>,
) -> AppResult<(StatusCode, Json<UserBody>)> {
    required("username", &user.username)?;
    required("email", &user.email)?;
    required("password", &user.password)?;
    let user = User {
        id: ObjectId::new(),
        username: user.username,
        email: user.email,
        password: state.passwords.hash(user.password).await?,
        bio: None,
        image: None,
    };
    match state.db.users.insert_one(&user).await {
        Ok(_) => {}
        Err(error) if is_duplicate_key(&error) => return Err(taken(&state, &user.username).await),
        Err(error) => return Err(error.into()),
    }
    let token = state.tokens.issue(user.id)?;
    Ok((StatusCode::CREATED, body(user, token)))
}

pub(crate) async fn login(
    State(state): State<AppState>,
    Json(Wrapped { user }): Json<Wrapped<Credentials>>,
) -> AppResult<Json<UserBody>> {
    required("email", &user.email)?;
    required("password", &user.password)?;
    let Some(found) = state
        .db
        .users
        .find_one(doc! { "email": &user.email })
        .await?
    else {
        state.passwords.verify_dummy(user.password).await?;
        return Err(AppError::Unauthorized);
    };
    if !state
        .passwords
        .verify(user.password, found.password.clone())
        .await?
    {
        return Err(AppError::Unauthorized);
    }
    let token = state.tokens.issue(found.id)?;
    Ok(body(found, token))
}

pub(crate) async fn current(
    State(state): State<AppState>,
    auth: AuthUser,
) -> AppResult<Json<UserBody>> {
    let user = state
        .db
        .users
        .find_one(doc! { "_id": auth.id })
        .projection(doc! { "password": 0 })
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(body(user, auth.token))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    auth: AuthUser,
    Json(Wrapped { user: changes }): Json<Wrapped<UserChanges>>,
) -> AppResult<Json<UserBody>> {
    let mut set = Document::new();
    if let Some(email) = changes.email {
        required("email", &email)?;
        set.insert("email", email);
    }
    if let Some(username) = &changes.username {
        required("username", username)?;
        set.insert("username", username);
    }
    if let Some(password) = changes.password {
        required("password", &password)?;
        set.insert("password", state.passwords.hash(password).await?);
    }
    if let Some(bio) = changes.bio {
        set.insert("bio", bio);
    }
    if let Some(image) = changes.image {
        set.insert("image", image);
    }
    let updated = if set.is_empty() {
        state.db.users.find_one(doc! { "_id": auth.id }).await
    } else {
        state
            .db
            .users
            .find_one_and_update(doc! { "_id": auth.id }, doc! { "$set": set })
            .return_document(mongodb::options::ReturnDocument::After)
            .await
    };
    let user = match updated {
        Ok(user) => user.ok_or(AppError::Unauthorized)?,
        Err(error) if is_duplicate_key(&error) => {
            return Err(taken(&state, changes.username.as_deref().unwrap_or_default()).await);
        }
        Err(error) => return Err(error.into()),
    };
    Ok(body(user, auth.token))
}

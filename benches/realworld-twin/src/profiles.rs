//! Profiles and following.

use axum::{
    Json,
    extract::{Path, State},
};
use bson::doc;
use serde::Serialize;

use crate::{
    AppState,
    auth::{AuthUser, MaybeUser},
    db::{Author, Follow},
    error::{AppError, AppResult, is_duplicate_key},
};

/// A user as others see them.
#[derive(Serialize)]
pub(crate) struct Profile {
    username: String,
    bio: Option<String>,
    image: Option<String>,
    following: bool,
}

impl Profile {
    pub(crate) fn new(author: &Author, following: bool) -> Self {
        Self {
            username: author.username.clone(),
            bio: author.bio.clone(),
            image: author.image.clone(),
            following,
        }
    }

    /// Stands in for an author whose account is gone.
    pub(crate) fn unknown() -> Self {
        Self {
            username: String::new(),
            bio: None,
            image: None,
            following: false,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ProfileBody {
    profile: Profile,
}

async fn author(state: &AppState, username: &str) -> AppResult<Author> {
    state
        .db
        .author_by_name(username)
        .await?
        .ok_or(AppError::NotFound)
}

pub(crate) async fn get(
    State(state): State<AppState>,
    MaybeUser(reader): MaybeUser,
    Path(username): Path<String>,
) -> AppResult<Json<ProfileBody>> {
    let author = author(&state, &username).await?;
    let following = state.db.follows(reader, author.id).await?;
    Ok(Json(ProfileBody {
        profile: Profile::new(&author, following),
    }))
}

pub(crate) async fn follow(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(username): Path<String>,
) -> AppResult<Json<ProfileBody>> {
    let author = author(&state, &username).await?;
    if author.id == auth.id {
        return Err(AppError::Invalid("username", "cannot follow yourself"));
    }
    let follow = Follow {
        follower: auth.id,
        followee: author.id,
    };
    match state.db.follows.insert_one(follow).await {
        Err(error) if !is_duplicate_key(&error) => return Err(error.into()),
        _ => {}
    }
    Ok(Json(ProfileBody {
        profile: Profile::new(&author, true),
    }))
}

pub(crate) async fn unfollow(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(username): Path<String>,
) -> AppResult<Json<ProfileBody>> {
    let author = author(&state, &username).await?;
    state
        .db
        .follows
        .delete_one(doc! { "follower": auth.id, "followee": author.id })
        .await?;
    Ok(Json(ProfileBody {
        profile: Profile::new(&author, false),
    }))
}

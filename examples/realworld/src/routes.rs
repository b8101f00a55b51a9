//! Which URL goes where (all under `/api`, the `api.prefix` in `flagstone.toml`).

use std::time::Duration;

use flagstone::{http::RateLimitLayer, prelude::*};

use crate::controllers::{articles, comments, profiles, users};

/// Every route of the contract. Register and login are also limited to
/// `credential_limit` requests per minute per client IP (`auth.rate_limit`; 0 = off).
pub fn routes(credential_limit: u64) -> OpenApiRouter {
    let mut credentials = OpenApiRouter::new()
        .routes(routes!(users::register))
        .routes(routes!(users::login));
    if credential_limit > 0 {
        let limit = u32::try_from(credential_limit).unwrap_or(u32::MAX);
        credentials = credentials.layer(RateLimitLayer::new(limit, Duration::from_secs(60)));
    }
    credentials
        .routes(routes!(users::current, users::update))
        .routes(routes!(profiles::get))
        .routes(routes!(profiles::follow, profiles::unfollow))
        .routes(routes!(articles::list, articles::create))
        .routes(routes!(articles::feed))
        .routes(routes!(articles::get, articles::update, articles::delete))
        .routes(routes!(articles::favorite, articles::unfavorite))
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(comments::delete))
        .routes(routes!(articles::tags))
}

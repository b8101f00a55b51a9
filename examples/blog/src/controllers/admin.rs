//! `PUT /admin/users/{id}/roles`: an administrator sets a user's roles.

use flagstone::{auth::User, bson::doc, prelude::*, validation::Valid};
use serde::{Deserialize, Serialize};

/// The roles a user gets.
#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Any of `admin`, `editor`, `reader`.
    #[validate(each(one_of("admin", "editor", "reader")))]
    pub roles: Vec<String>,
}

/// A user's roles after the change.
#[derive(Serialize, ToSchema)]
pub struct RolesSet {
    /// The user.
    pub id: String,
    /// The roles, effective at the user's next token refresh.
    pub roles: Vec<String>,
}

/// Sets a user's roles (admins only: see `middleware::admins_only` on this route group).
#[utoipa::path(put, path = "/admin/users/{id}/roles", tag = "admin", request_body = Roles,
               params(("id" = String, Path, description = "The user's id")),
               responses((status = 200, body = RolesSet)),
               security(("bearer" = []), ("cookie" = [])))]
pub async fn set_roles(
    Extension(store): Extension<Store>,
    Path(id): Path<Id<User>>,
    Valid(Json(body)): Valid<Json<Roles>>,
) -> flagstone::Result<Json<RolesSet>> {
    let users = store.collection::<User>("users");
    let changed = users
        .update_one(
            doc! { "_id": id },
            doc! { "$set": { "roles": &body.roles } },
        )
        .await?;
    if changed.matched == 0 {
        return Err(Error::not_found(format!("no user with id {id}")));
    }
    Ok(Json(RolesSet {
        id: id.to_string(),
        roles: body.roles,
    }))
}

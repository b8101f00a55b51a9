//! The hand-written routes (the resources' routes come from `App::resource`).

use flagstone::prelude::*;

use crate::{controllers, middleware};

/// Publishing for editors, cover images, and role management behind the admins-only guard.
pub fn routes() -> OpenApiRouter {
    let publishing = OpenApiRouter::new()
        .routes(routes!(controllers::posts::publish))
        .routes(routes!(controllers::posts::schedule))
        .routes(routes!(
            controllers::covers::put_cover,
            controllers::covers::get_cover,
            controllers::covers::delete_cover
        ));
    let admin = OpenApiRouter::new()
        .routes(routes!(controllers::admin::set_roles))
        .layer(middleware::admins_only());
    publishing.merge(admin)
}

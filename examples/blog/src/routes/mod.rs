//! The hand-written routes (the resources' routes come from `App::resource`).

use flagstone::prelude::*;

use crate::{controllers, middleware};

/// Publishing for editors, and role management behind the admins-only guard.
pub fn routes() -> OpenApiRouter {
    let publishing = OpenApiRouter::new()
        .routes(routes!(controllers::posts::publish))
        .routes(routes!(controllers::posts::schedule));
    let admin = OpenApiRouter::new()
        .routes(routes!(controllers::admin::set_roles))
        .layer(middleware::admins_only());
    publishing.merge(admin)
}

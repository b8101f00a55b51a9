//! Which URL goes where. The generated resources mount themselves (`resources.rs`, kept
//! by `flagstone generate resource`); hand-written controllers are listed here, with the
//! middleware their group needs.

pub mod resources;

use flagstone::prelude::*;

use crate::controllers;

/// The hand-written routes, under the API prefix.
pub fn routes() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(controllers::info::info))
}

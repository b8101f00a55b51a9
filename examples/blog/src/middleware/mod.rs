//! Guards for route groups.

use flagstone::auth::RequireRoleLayer;

/// Admits administrators only.
pub fn admins_only() -> RequireRoleLayer {
    RequireRoleLayer::any(["admin"])
}

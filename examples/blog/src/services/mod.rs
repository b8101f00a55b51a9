//! Business rules that are more than a hook: publishing, cover images. Services take and return domain
//! types and know nothing of HTTP, so the command line uses them too.

mod covers;
mod publishing;
mod seed;

pub use covers::{COVER_TYPES, Covers};
pub use publishing::Publishing;
pub use seed::{SEED_PASSWORD, SEED_USERS, seed};

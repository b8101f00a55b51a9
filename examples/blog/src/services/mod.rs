//! Business rules that are more than a hook: publishing. Services take and return domain
//! types and know nothing of HTTP, so the command line uses them too.

mod publishing;
mod seed;

pub use publishing::Publishing;
pub use seed::{SEED_PASSWORD, SEED_USERS, seed};

use flagstone::prelude::*;

#[derive(Model)]
pub struct User {
    pub id: Id<Self>,
    #[field(hidden, write_only)]
    pub password_hash: String,
}

fn main() {}

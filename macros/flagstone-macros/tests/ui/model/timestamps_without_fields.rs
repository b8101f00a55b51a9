use flagstone::prelude::*;

#[derive(Model)]
#[model(timestamps)]
pub struct Post {
    pub id: Id<Self>,
    pub created_at: Timestamp,
}

fn main() {}

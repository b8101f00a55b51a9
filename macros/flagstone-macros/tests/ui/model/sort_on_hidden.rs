use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Id<Self>,
    #[field(hidden, sort)]
    pub secret: String,
}

fn main() {}

use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Id<Self>,
    #[field(owner)]
    pub author: String,
}

fn main() {}

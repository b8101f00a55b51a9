use flagstone::prelude::*;

#[derive(Model)]
#[model(colection = "posts")]
pub struct Post {
    pub id: Id<Self>,
}

fn main() {}

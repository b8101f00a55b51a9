use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: String,
}

fn main() {}

use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub title: String,
}

fn main() {}

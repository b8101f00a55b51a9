use flagstone::prelude::*;

#[derive(Model)]
#[index(fields(title = 1), uniqe)]
pub struct Post {
    pub id: Id<Self>,
    pub title: String,
}

fn main() {}

use flagstone::prelude::*;

#[derive(Model)]
#[index(fields(title = 1))]
#[index(fields(title = 1), unique)]
pub struct Post {
    pub id: Id<Self>,
    pub title: String,
}

fn main() {}

use flagstone::prelude::*;

#[derive(Model)]
#[index(fields(titel = 1))]
pub struct Post {
    pub id: Id<Self>,
    pub title: String,
}

fn main() {}

use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Id<Self>,
    #[field(flter)]
    pub title: String,
}

fn main() {}

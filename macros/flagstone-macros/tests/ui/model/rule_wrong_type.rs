use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Id<Self>,
    #[field(each(len(max = 3)))]
    pub title: String,
}

fn main() {}

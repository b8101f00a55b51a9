use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Id<Self>,
    #[field(owner)]
    pub author: Id<Post>,
    #[field(owner)]
    pub editor: Id<Post>,
}

fn main() {}

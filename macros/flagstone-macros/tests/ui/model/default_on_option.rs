use flagstone::prelude::*;

#[derive(Model)]
pub struct Post {
    pub id: Id<Self>,
    #[field(default = Some(3))]
    pub rank: Option<i32>,
}

fn main() {}

use flagstone::prelude::*;

#[derive(Model)]
pub struct Post(Id<Post>);

fn main() {}

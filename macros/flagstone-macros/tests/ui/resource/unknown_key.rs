use flagstone::prelude::*;

#[derive(Model, Resource)]
#[resource(default = public, lst = public)]
pub struct Post {
    pub id: Id<Self>,
}

fn main() {}

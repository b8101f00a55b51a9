use flagstone::prelude::*;

#[derive(Model, Resource)]
#[resource(default = authenticatd)]
pub struct Post {
    pub id: Id<Self>,
}

fn main() {}

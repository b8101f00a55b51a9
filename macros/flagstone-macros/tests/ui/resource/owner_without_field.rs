use flagstone::prelude::*;

#[derive(Model, Resource)]
#[resource(default = public, delete = owner_or("admin"))]
pub struct Post {
    pub id: Id<Self>,
}

fn main() {}

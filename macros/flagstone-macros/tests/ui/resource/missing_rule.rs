use flagstone::prelude::*;

#[derive(Model, Resource)]
#[resource(path = "/posts", list = public, get = public, create = authenticated, update = authenticated)]
pub struct Post {
    pub id: Id<Self>,
}

fn main() {}

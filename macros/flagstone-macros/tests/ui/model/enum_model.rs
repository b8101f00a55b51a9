use flagstone::prelude::*;

#[derive(Model)]
pub enum Post {
    A,
}

fn main() {}

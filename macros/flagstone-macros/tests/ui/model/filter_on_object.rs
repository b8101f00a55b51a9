use flagstone::prelude::*;
use std::collections::HashMap;

#[derive(Model)]
pub struct Post {
    pub id: Id<Self>,
    #[field(filter)]
    pub meta: HashMap<String, String>,
}

fn main() {}

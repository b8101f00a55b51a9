//! Sample data: one user per role and a few posts.

use flagstone::{
    Id, Result, Store,
    auth::{
        Auth, User,
        account::{RegisterUser, create_account},
    },
    bson::doc,
    model::Model,
    store::Timestamp,
};

use crate::models::{Post, Status};

/// The users `seed` creates: (email, username, roles). Their password is `SEED_PASSWORD`.
pub const SEED_USERS: [(&str, &str, &[&str]); 3] = [
    ("admin@example.com", "admin", &["admin", "editor"]),
    ("editor@example.com", "editor", &["editor"]),
    ("reader@example.com", "reader", &["reader"]),
];

/// The password of the seeded users.
pub const SEED_PASSWORD: &str = "correct horse battery";

/// Creates the sample users and, the first time, two posts by the editor (one published,
/// one draft). Safe to run twice. Returns how many users it created.
pub async fn seed(store: &Store, auth: &Auth) -> Result<usize> {
    let users = store.collection::<User>("users");
    let mut created = 0;
    let mut editor = None;
    for (email, username, roles) in SEED_USERS {
        let existing = users.find_one(doc! { "email_key": email }).await?;
        let user = match existing {
            Some(user) => user,
            None => {
                created += 1;
                let registration = RegisterUser {
                    email: email.to_owned(),
                    password: SEED_PASSWORD.to_owned(),
                    username: Some(username.to_owned()),
                };
                let roles = roles.iter().map(|r| (*r).to_owned()).collect();
                create_account(auth, &users, registration, roles).await?
            }
        };
        if username == "editor" {
            editor = Some(user.account.id.cast::<User>());
        }
    }
    let posts = store.collection::<Post>(<Post as Model>::COLLECTION);
    if let Some(author) = editor
        && !posts.exists(doc! {}).await?
    {
        let now = Timestamp::now();
        for (title, status) in [
            ("Hello, world", Status::Published),
            ("Work in progress", Status::Draft),
        ] {
            let id = Id::<Post>::new();
            let suffix = id.to_string();
            posts
                .insert_one(&Post {
                    id,
                    title: title.to_owned(),
                    body: format!("{title}: the body."),
                    slug: format!(
                        "{}-{}",
                        crate::utils::slugify(title),
                        &suffix[suffix.len() - 6..]
                    ),
                    status: status.as_str().to_owned(),
                    publish_at: None,
                    published_at: (status == Status::Published).then_some(now),
                    author,
                    recent_comments: Vec::new(),
                    comment_count: 0,
                    cover: None,
                    created_at: now,
                    updated_at: now,
                })
                .await?;
        }
    }
    Ok(created)
}

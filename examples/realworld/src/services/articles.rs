//! Articles: lists and the feed, slugs, favorites and tags.

use std::collections::HashSet;

use flagstone::{
    Result,
    error::ErrorKind,
    prelude::*,
    store::ReturnDocument,
    store::{Bson, Document},
};
use serde::Deserialize;

use super::Conduit;
use crate::models::{Article, ArticleDoc, ArticlesEnvelope, FavoriteDoc, Profile, UserDoc};

/// What `POST /articles` takes.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewArticle {
    /// The title; the slug derives from it.
    #[validate(non_empty, len(max = 200))]
    pub title: String,
    /// A one-line summary.
    #[validate(non_empty, len(max = 1_000))]
    pub description: String,
    /// The text (Markdown).
    #[validate(non_empty, len(max = 100_000))]
    pub body: String,
    /// Tags; stored sorted, without duplicates.
    #[serde(default)]
    #[validate(len(max = 20), each(non_empty, len(max = 50)))]
    pub tag_list: Vec<String>,
}

/// What `PUT /articles/{slug}` may change; absent fields stay as they are.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArticleChanges {
    /// A new title, which also gives a new slug.
    #[validate(non_empty, len(max = 200))]
    pub title: Option<String>,
    /// A new summary.
    #[validate(non_empty, len(max = 1_000))]
    pub description: Option<String>,
    /// A new text.
    #[validate(non_empty, len(max = 100_000))]
    pub body: Option<String>,
    /// New tags.
    #[validate(len(max = 20), each(non_empty, len(max = 50)))]
    pub tag_list: Option<Vec<String>>,
}

/// Which articles `GET /articles` lists, and which page.
#[derive(Debug, Default)]
pub struct ArticleFilter {
    /// Only those with this tag.
    pub tag: Option<String>,
    /// Only those by this username.
    pub author: Option<String>,
    /// Only those this username favorited.
    pub favorited: Option<String>,
    /// Page size.
    pub limit: u64,
    /// Articles to skip.
    pub offset: u64,
}

/// A URL name from a title: lowercase letters and digits joined by single dashes
/// ("Hello, World!" → "hello-world"); "article" when nothing is left.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 80 {
            break;
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push_str("article");
    }
    slug
}

/// Sorted, deduplicated, trimmed tags.
fn tidy_tags(tags: Vec<String>) -> Vec<String> {
    let mut tags: Vec<String> = tags.into_iter().map(|t| t.trim().to_owned()).collect();
    tags.sort_unstable();
    tags.dedup();
    tags
}

fn not_found() -> Error {
    Error::not_found("article not found")
}

impl Conduit {
    /// A page of articles matching `filter`, newest first, as `viewer` sees them, with the
    /// total count of matches.
    pub async fn list(
        &self,
        filter: ArticleFilter,
        viewer: Option<Id<UserDoc>>,
    ) -> Result<ArticlesEnvelope> {
        let mut query = Document::new();
        if let Some(tag) = filter.tag {
            query.insert("tag_list", tag);
        }
        if let Some(author) = &filter.author {
            match self.by_username(author).await {
                Ok(author) => query.insert("author", author.id),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(empty()),
                Err(e) => return Err(e),
            };
        }
        if let Some(fan) = &filter.favorited {
            let fan = match self.by_username(fan).await {
                Ok(fan) => fan,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(empty()),
                Err(e) => return Err(e),
            };
            let ids: Vec<Bson> = self
                .0
                .favorites
                .find(doc! { "user": fan.id })
                .await?
                .into_iter()
                .map(|f| f.article.into())
                .collect();
            query.insert("_id", doc! { "$in": ids });
        }
        self.page(query, filter.limit, filter.offset, viewer, None)
            .await
    }

    /// A page of articles by the authors `viewer` follows, newest first.
    pub async fn feed(
        &self,
        viewer: Id<UserDoc>,
        limit: u64,
        offset: u64,
    ) -> Result<ArticlesEnvelope> {
        let following = self.following_of(Some(viewer)).await?;
        if following.is_empty() {
            return Ok(empty());
        }
        self.page(
            doc! { "author": { "$in": following.clone() } },
            limit,
            offset,
            Some(viewer),
            Some(following),
        )
        .await
    }

    /// A page of the articles `query` matches, as `viewer` sees them; `following` is the
    /// viewer's follow list when the caller has read it already.
    async fn page(
        &self,
        query: Document,
        limit: u64,
        offset: u64,
        viewer: Option<Id<UserDoc>>,
        following: Option<Vec<Id<UserDoc>>>,
    ) -> Result<ArticlesEnvelope> {
        let articles = &self.0.articles;
        let page = articles
            .find(query.clone())
            .sort(doc! { "created_at": -1, "_id": -1 })
            .skip(offset)
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .projection(doc! { "body": 0 });
        let following = async {
            match following {
                Some(following) => Ok(following),
                None => self.following_of(viewer).await,
            }
        };
        let (count, docs, following) =
            tokio::try_join!(articles.count(query), page.all(), following)?;
        let articles = self.views(docs, viewer, &following, false).await?;
        Ok(ArticlesEnvelope {
            articles,
            articles_count: count,
        })
    }

    /// The views of `docs`: their authors read in one query, the caller's favorites in
    /// another.
    async fn views(
        &self,
        docs: Vec<ArticleDoc>,
        viewer: Option<Id<UserDoc>>,
        following: &[Id<UserDoc>],
        with_body: bool,
    ) -> Result<Vec<Article>> {
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let mut author_ids: Vec<Id<UserDoc>> = docs.iter().map(|a| a.author).collect();
        author_ids.sort_unstable();
        author_ids.dedup();
        let favorites = async {
            let Some(viewer) = viewer else {
                return Ok(HashSet::new());
            };
            let ids: Vec<Id<ArticleDoc>> = docs.iter().map(|a| a.id).collect();
            let favorites = self
                .0
                .favorites
                .find(doc! { "user": viewer, "article": { "$in": ids } })
                .await?;
            Ok::<_, Error>(favorites.into_iter().map(|f| f.article).collect())
        };
        let (authors, favorites) = tokio::try_join!(self.authors(author_ids), favorites)?;
        docs.into_iter()
            .map(|doc| {
                let author = authors.iter().find(|a| a.id == doc.author).ok_or_else(|| {
                    Error::internal(std::io::Error::other("an article's author is missing"))
                })?;
                let favorited = favorites.contains(&doc.id);
                Ok(Article::of(
                    doc,
                    Profile::of(author, following),
                    favorited,
                    with_body,
                ))
            })
            .collect()
    }

    /// One article as `viewer` sees it; 404 when there is no such slug.
    pub async fn article(&self, slug: &str, viewer: Option<Id<UserDoc>>) -> Result<Article> {
        let (doc, following) = tokio::try_join!(self.by_slug(slug), self.following_of(viewer))?;
        self.view(doc, viewer, &following).await
    }

    async fn view(
        &self,
        doc: ArticleDoc,
        viewer: Option<Id<UserDoc>>,
        following: &[Id<UserDoc>],
    ) -> Result<Article> {
        let mut views = self.views(vec![doc], viewer, following, true).await?;
        views.pop().ok_or_else(not_found)
    }

    /// Publishes `new` by `author`, under a slug derived from its title (with a suffix when
    /// the plain one is taken).
    pub async fn create(&self, author: Id<UserDoc>, new: NewArticle) -> Result<Article> {
        let now = Timestamp::now();
        let mut doc = ArticleDoc {
            id: Id::new(),
            slug: slugify(&new.title),
            title: new.title,
            description: new.description,
            body: new.body,
            tag_list: tidy_tags(new.tag_list),
            author,
            favorites_count: 0,
            created_at: now,
            updated_at: now,
        };
        let base = doc.slug.clone();
        for attempt in 0.. {
            match self.0.articles.insert_one(&doc).await {
                Ok(_) => break,
                Err(e) if e.kind() == ErrorKind::Conflict && attempt < 3 => {
                    doc.slug = format!("{base}-{}", suffix());
                }
                Err(e) => return Err(e),
            }
        }
        let author = self.author(author).await?;
        Ok(Article::of(doc, Profile::of(&author, &[]), false, true))
    }

    /// Applies `changes` to the article `slug`, written by `caller` (403 otherwise).
    pub async fn update(
        &self,
        caller: Id<UserDoc>,
        slug: &str,
        changes: ArticleChanges,
    ) -> Result<Article> {
        let doc = self.by_slug(slug).await?;
        if doc.author != caller {
            return Err(Error::forbidden("only the author may edit this article"));
        }
        let mut set = doc! { "updated_at": Timestamp::now() };
        // A new title gives a new slug, unless it slugs to the current one (suffix or not).
        let base = changes
            .title
            .as_deref()
            .map(slugify)
            .filter(|base| !is_slug_of(&doc.slug, base));
        let mut new_slug = base.clone();
        if let Some(title) = changes.title {
            set.insert("title", title);
        }
        if let Some(description) = changes.description {
            set.insert("description", description);
        }
        if let Some(body) = changes.body {
            set.insert("body", body);
        }
        if let Some(tags) = changes.tag_list {
            set.insert("tag_list", tidy_tags(tags));
        }
        let mut attempts = 0;
        let updated = loop {
            if let Some(slug) = &new_slug {
                set.insert("slug", slug.as_str());
            }
            let result = self
                .0
                .articles
                .find_one_and_update(doc! { "_id": doc.id }, doc! { "$set": set.clone() })
                .returning(ReturnDocument::After)
                .await;
            match (result, &base) {
                (Ok(updated), _) => break updated.ok_or_else(not_found)?,
                (Err(e), Some(base)) if e.kind() == ErrorKind::Conflict && attempts < 3 => {
                    attempts += 1;
                    new_slug = Some(format!("{base}-{}", suffix()));
                }
                (Err(e), _) => return Err(e),
            }
        };
        let following = self.following_of(Some(caller)).await?;
        self.view(updated, Some(caller), &following).await
    }

    /// Deletes the article `slug`, written by `caller` (403 otherwise), with its comments
    /// and favorites.
    pub async fn delete(&self, caller: Id<UserDoc>, slug: &str) -> Result<()> {
        let doc = self.by_slug(slug).await?;
        if doc.author != caller {
            return Err(Error::forbidden("only the author may delete this article"));
        }
        self.0.articles.delete_one(doc! { "_id": doc.id }).await?;
        tokio::try_join!(
            self.0.comments.delete_many(doc! { "article": doc.id }),
            self.0.favorites.delete_many(doc! { "article": doc.id }),
        )?;
        Ok(())
    }

    /// `caller` favorites `slug` (idempotent: the count rises once).
    pub async fn favorite(&self, caller: Id<UserDoc>, slug: &str) -> Result<Article> {
        let doc = self.by_slug(slug).await?;
        let favorite = FavoriteDoc {
            id: Id::new(),
            user: caller,
            article: doc.id,
        };
        let doc = match self.0.favorites.insert_one(&favorite).await {
            Ok(_) => self
                .0
                .articles
                .find_one_and_update(
                    doc! { "_id": doc.id },
                    doc! { "$inc": { "favorites_count": 1 } },
                )
                .returning(ReturnDocument::After)
                .await?
                .ok_or_else(not_found)?,
            Err(e) if e.kind() == ErrorKind::Conflict => doc,
            Err(e) => return Err(e),
        };
        let following = self.following_of(Some(caller)).await?;
        self.view(doc, Some(caller), &following).await
    }

    /// `caller` takes back their favorite of `slug` (idempotent; the count never drops
    /// below zero).
    pub async fn unfavorite(&self, caller: Id<UserDoc>, slug: &str) -> Result<Article> {
        let doc = self.by_slug(slug).await?;
        let removed = self
            .0
            .favorites
            .delete_one(doc! { "user": caller, "article": doc.id })
            .await?;
        let doc = match removed {
            0 => doc,
            _ => self
                .0
                .articles
                .find_one_and_update(
                    doc! { "_id": doc.id, "favorites_count": { "$gt": 0 } },
                    doc! { "$inc": { "favorites_count": -1 } },
                )
                .returning(ReturnDocument::After)
                .await?
                .unwrap_or(doc),
        };
        let following = self.following_of(Some(caller)).await?;
        self.view(doc, Some(caller), &following).await
    }

    /// Every tag in use, sorted.
    pub async fn tags(&self) -> Result<Vec<String>> {
        let mut tags: Vec<String> = self
            .0
            .articles
            .distinct("tag_list", Document::new())
            .await?
            .into_iter()
            .filter_map(|tag| match tag {
                Bson::String(tag) => Some(tag),
                _ => None,
            })
            .collect();
        tags.sort_unstable();
        tags.dedup();
        Ok(tags)
    }

    /// The article `slug`, or 404.
    pub(super) async fn by_slug(&self, slug: &str) -> Result<ArticleDoc> {
        self.0
            .articles
            .find_one(doc! { "slug": slug })
            .await?
            .ok_or_else(not_found)
    }
}

fn empty() -> ArticlesEnvelope {
    ArticlesEnvelope {
        articles: Vec::new(),
        articles_count: 0,
    }
}

/// Whether `slug` is `base`, or `base` with a suffix from [`suffix`].
fn is_slug_of(slug: &str, base: &str) -> bool {
    match slug.strip_prefix(base) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|s| s.len() == 6 && s.bytes().all(|b| b.is_ascii_hexdigit())),
        None => false,
    }
}

/// Six lowercase letters and digits from a fresh object id's random and counter bytes.
fn suffix() -> String {
    let hex = Id::<ArticleDoc>::new().to_string();
    hex[hex.len() - 6..].to_owned()
}

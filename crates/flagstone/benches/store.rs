//! Store benchmarks: prints a Markdown table of figures, asserts nothing.
//!
//! ```text
//! cargo bench -p flagstone --bench store                 # embedded store, memory and file
//! FLAGSTONE_TEST_MONGODB_URI=mongodb://127.0.0.1:27018/ \
//!     cargo bench -p flagstone --bench store             # ... and the MongoDB backend
//! FLAGSTONE_BENCH_DOCS=20000 cargo bench -p flagstone --bench store   # a smaller data set
//! FLAGSTONE_BENCH_MONGO_DOCS=5000 ...       # the MongoDB backend's count (default: 20 000 at most)
//! ```
//!
//! Each backend is loaded with the same documents (100 000 by default), then measured on:
//! inserts one at a time, lookups by id, an indexed equality query, an unindexed filter
//! with sort and limit 20, and `$inc` updates by id.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use flagstone::{
    config::DatabaseConfig,
    store::{Collection, Document, Index, Store, doc},
};

struct Figure {
    op: &'static str,
    count: usize,
    elapsed: Duration,
}

impl Figure {
    fn cell(&self) -> String {
        let per_op = self.elapsed.as_secs_f64() / self.count as f64;
        format!("{:.0}/s ({:.1} µs)", 1.0 / per_op, per_op * 1e6)
    }
}

fn document(i: usize) -> Document {
    doc! {
        "sku": format!("sku-{i:07}"),
        "category": format!("cat-{}", i % 1000),
        "price": ((i * 7919) % 1000) as i32,
        "rank": ((i * 104_729) % 100_003) as i64,
        "title": format!("Product number {i}"),
        "tags": ["a", "b", format!("t{}", i % 13)],
    }
}

async fn timed<F, Fut>(op: &'static str, count: usize, mut run: F) -> Figure
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for i in 0..count {
        run(i).await;
    }
    Figure {
        op,
        count,
        elapsed: started.elapsed(),
    }
}

async fn bench(store: &Store, docs: usize) -> Vec<Figure> {
    let coll: Collection<Document> = store.collection("bench_products");
    coll.drop().await.unwrap();
    coll.create_index(Index::new(doc! { "sku": 1 }).unique())
        .await
        .unwrap();

    let started = Instant::now();
    let mut ids = Vec::with_capacity(docs);
    for chunk in (0..docs).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<Document> = chunk.iter().map(|i| document(*i)).collect();
        ids.extend(coll.insert_many(&batch).await.unwrap());
    }
    let mut figures = vec![Figure {
        op: "insert_many (batches of 1000)",
        count: docs,
        elapsed: started.elapsed(),
    }];

    figures.push(
        timed("insert_one", 1000, |i| {
            let coll = coll.clone();
            async move {
                coll.insert_one(&document(docs + i)).await.unwrap();
            }
        })
        .await,
    );
    let step = 7919 % docs.max(1);
    figures.push(
        timed("find_by_id", 10_000, |i| {
            let (coll, id) = (coll.clone(), ids[(i * step) % docs].clone());
            async move {
                assert!(coll.find_by_id(id).await.unwrap().is_some());
            }
        })
        .await,
    );
    figures.push(
        timed("indexed equality (unique sku)", 10_000, |i| {
            let coll = coll.clone();
            async move {
                let sku = format!("sku-{:07}", (i * 31) % docs);
                assert!(coll.find_one(doc! { "sku": sku }).await.unwrap().is_some());
            }
        })
        .await,
    );
    figures.push(
        timed("unindexed filter + sort + limit 20", 20, |i| {
            let coll = coll.clone();
            async move {
                let page = coll
                    .find(doc! { "price": { "$gte": (i * 10) as i32 }, "category": { "$ne": "cat-1" } })
                    .sort(doc! { "rank": -1 })
                    .limit(20)
                    .await
                    .unwrap();
                assert_eq!(page.len(), 20);
            }
        })
        .await,
    );
    figures.push(
        timed("update by id ($inc)", 2000, |i| {
            let (coll, id) = (coll.clone(), ids[(i * step) % docs].clone());
            async move {
                let r = coll
                    .update_one(doc! { "_id": id }, doc! { "$inc": { "price": 1 } })
                    .await
                    .unwrap();
                assert_eq!(r.matched, 1);
            }
        })
        .await,
    );
    coll.drop().await.unwrap();
    figures
}

fn print_table(name: &str, docs: usize, figures: &[Figure]) {
    println!("\n{name}, {docs} documents: operations per second (mean time per operation)\n");
    println!("| operation | {name} |");
    println!("|---|---|");
    for figure in figures {
        println!("| {} | {} |", figure.op, figure.cell());
    }
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let docs = env_count("FLAGSTONE_BENCH_DOCS", 100_000);
    let dir = tempfile::tempdir().unwrap();

    eprintln!("memory store, {docs} documents...");
    print_table(
        "embedded, memory",
        docs,
        &bench(&Store::memory(), docs).await,
    );

    eprintln!("file store, {docs} documents...");
    let file = Store::connect(&format!("file://{}/bench.redb", dir.path().display()))
        .await
        .unwrap();
    print_table("embedded, file", docs, &bench(&file, docs).await);
    drop(file);

    match std::env::var("FLAGSTONE_TEST_MONGODB_URI") {
        Ok(uri) => {
            // A test server may be far slower than MongoDB; it gets its own, smaller count.
            let docs = env_count("FLAGSTONE_BENCH_MONGO_DOCS", docs.min(20_000));
            eprintln!("MongoDB backend at {uri}, {docs} documents...");
            let mut config = DatabaseConfig::default();
            config.url = Some(uri);
            config.name = Some(format!("flagstone_bench_{}", std::process::id()));
            let store = Store::open(&config).await.unwrap();
            print_table("MongoDB backend", docs, &bench(&store, docs).await);
            store.drop_all().await.unwrap();
        }
        Err(_) => eprintln!("FLAGSTONE_TEST_MONGODB_URI not set: MongoDB backend not measured"),
    }
}

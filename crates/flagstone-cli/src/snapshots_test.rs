//! The rendered files, pinned with insta snapshots (`src/snapshots/`), and the generator's
//! behaviour on a real folder: idempotent wiring, refusal to overwrite.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use crate::{
    files::{Outcome, Plan},
    generate,
    project::{self, Dependency},
    render::Renderer,
};

fn content<'a>(plan: &'a Plan, path: &str) -> &'a str {
    plan.files()
        .find(|(p, _)| *p == Path::new(path))
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("{path} is not planned"))
}

fn new_project(dir: &Path) {
    let renderer = Renderer::new().unwrap();
    let plan = project::plan(&renderer, "shelf", &Dependency::Release).unwrap();
    plan.apply(dir, false).unwrap();
}

#[test]
fn a_new_project() {
    let renderer = Renderer::new().unwrap();
    let dependency = Dependency::Path("/src/flagstone/crates/flagstone".into());
    let plan = project::plan(&renderer, "my-shelf", &dependency).unwrap();
    let paths: Vec<String> = plan.files().map(|(p, _)| p.display().to_string()).collect();
    insta::assert_snapshot!("new_files", paths.join("\n"));
    for path in [
        "Cargo.toml",
        "src/main.rs",
        "src/app.rs",
        "src/models/mod.rs",
        "src/routes/resources.rs",
        "tests/common/mod.rs",
        "flagstone.toml",
        "Dockerfile",
    ] {
        let name = format!("new_{}", path.replace(['/', '.'], "_"));
        insta::assert_snapshot!(name, content(&plan, path));
    }
    let release = project::plan(&renderer, "my-shelf", &Dependency::Release).unwrap();
    assert!(
        content(&release, "Cargo.toml")
            .contains(&format!("flagstone = \"{}\"", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn bad_project_names_are_refused() {
    let renderer = Renderer::new().unwrap();
    for name in ["My Shelf", "2shelf", "Shelf", "flagstone", ""] {
        let e = project::plan(&renderer, name, &Dependency::Release).unwrap_err();
        assert!(e.contains("invalid project name"), "{name}: {e}");
    }
}

#[test]
fn a_resource_with_every_kind_of_field() {
    let dir = tempfile::tempdir().unwrap();
    new_project(dir.path());
    let renderer = Renderer::new().unwrap();
    let fields: Vec<String> = [
        "title:string:unique:filter:sort",
        "summary:text?",
        "author:ref(User):filter",
        "parent:ref(Book)?",
        "genres:[enum(fiction|poetry)]",
        "pages:int?:sort",
        "price:float",
        "published:bool:filter",
        "released_at:datetime?:sort:select",
        "note:string?:hidden",
        "code:string:write_only",
        "score:float?:read_only",
    ]
    .map(str::to_owned)
    .to_vec();
    let plan = generate::resource(&renderer, dir.path(), "book", &fields).unwrap();
    for path in [
        "src/models/book.rs",
        "src/services/book.rs",
        "tests/books.rs",
        "src/models/mod.rs",
        "src/routes/resources.rs",
    ] {
        let name = format!("book_{}", path.replace(['/', '.'], "_"));
        insta::assert_snapshot!(name, content(&plan, path));
    }
}

#[test]
fn service_and_middleware() {
    let dir = tempfile::tempdir().unwrap();
    new_project(dir.path());
    let renderer = Renderer::new().unwrap();
    let plan = generate::service(&renderer, dir.path(), "publishing").unwrap();
    insta::assert_snapshot!("service", content(&plan, "src/services/publishing.rs"));
    let plan = generate::middleware(&renderer, dir.path(), "RequireTenant").unwrap();
    insta::assert_snapshot!(
        "middleware",
        content(&plan, "src/middleware/require_tenant.rs")
    );
    insta::assert_snapshot!("middleware_mod", content(&plan, "src/middleware/mod.rs"));
}

#[test]
fn generating_is_idempotent_and_never_overwrites_silently() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    new_project(root);
    let renderer = Renderer::new().unwrap();
    let fields = |specs: &[&str]| specs.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    // A ref to a model that does not exist yet is refused, and nothing is written.
    let e = generate::resource(&renderer, root, "book", &fields(&["by:ref(Author)"])).unwrap_err();
    assert!(e.contains("unknown ref `Author`"), "{e}");
    assert!(!root.join("src/models/book.rs").exists());

    let author = generate::resource(&renderer, root, "author", &fields(&["name:string"])).unwrap();
    author.apply(root, false).unwrap();
    let book = generate::resource(&renderer, root, "book", &fields(&["by:ref(Author)"])).unwrap();
    book.apply(root, false).unwrap();
    let mounted = std::fs::read_to_string(root.join("src/routes/resources.rs")).unwrap();
    let authors = mounted.find("models::Author").unwrap();
    let books = mounted.find("models::Book").unwrap();
    assert!(authors < books, "{mounted}");
    let models = std::fs::read_to_string(root.join("src/models/mod.rs")).unwrap();
    assert!(
        models.contains("mod author;") && models.contains("mod book;"),
        "{models}"
    );

    // The same again: refused without --force, and nothing changes.
    let before = std::fs::read_to_string(root.join("src/models/author.rs")).unwrap();
    let changed = generate::resource(&renderer, root, "author", &fields(&["name:text"])).unwrap();
    let e = changed.apply(root, false).unwrap_err();
    assert!(
        e.contains("src/models/author.rs") && e.contains("--force"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("src/models/author.rs")).unwrap(),
        before
    );

    // Identical output is no conflict: everything is unchanged, the wiring stays as it is.
    let again = generate::resource(&renderer, root, "author", &fields(&["name:string"])).unwrap();
    let outcomes = again.apply(root, false).unwrap();
    assert!(
        outcomes.iter().all(|(_, o)| *o == Outcome::Unchanged),
        "{outcomes:?}"
    );
    let remounted = std::fs::read_to_string(root.join("src/routes/resources.rs")).unwrap();
    assert_eq!(remounted, mounted);

    // --force overwrites.
    let outcomes = changed.apply(root, true).unwrap();
    assert!(outcomes.contains(&("src/models/author.rs".into(), Outcome::Overwritten)));
    assert!(
        std::fs::read_to_string(root.join("src/models/author.rs"))
            .unwrap()
            .contains("20_000")
    );

    // The lists are updated, not overwritten, when a module joins them.
    let plan = generate::middleware(&renderer, root, "audit").unwrap();
    let outcomes = plan.apply(root, false).unwrap();
    assert!(
        outcomes.contains(&("src/middleware/mod.rs".into(), Outcome::Updated)),
        "{outcomes:?}"
    );

    // A list file taken over by hand is left alone, with a note.
    std::fs::write(
        root.join("src/services/mod.rs"),
        "//! Mine.\npub mod author;\n",
    )
    .unwrap();
    let plan = generate::service(&renderer, root, "billing").unwrap();
    let outcomes = plan.apply(root, false).unwrap();
    let note = outcomes
        .iter()
        .find_map(|(p, o)| match o {
            Outcome::Skipped(note) if p == Path::new("src/services/mod.rs") => Some(note),
            _ => None,
        })
        .unwrap();
    assert!(note.contains("mod billing;"), "{note}");
    assert_eq!(
        std::fs::read_to_string(root.join("src/services/mod.rs")).unwrap(),
        "//! Mine.\npub mod author;\n"
    );
}

#[test]
fn generating_outside_a_project_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = generate::project_root(dir.path()).unwrap_err();
    assert!(e.contains("not a Flagstone project"), "{e}");
}

//! The `flagstone` binary as a user runs it: exit statuses, messages, no colour when piped.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn flagstone(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flagstone"))
        .current_dir(dir)
        .args(args)
        .env_remove("FLAGSTONE_PATH")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn new_then_generate_reports_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = flagstone(dir.path(), &["new", "shelf"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("   create  shelf/src/main.rs"), "{stdout}");
    assert!(stdout.contains("cargo test"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour when piped");

    let app = dir.path().join("shelf");
    let out = flagstone(
        &app,
        &["generate", "resource", "book", "title:string:filter"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("   create  src/models/book.rs"), "{stdout}");
    assert!(
        stdout.contains("   update  src/routes/resources.rs"),
        "{stdout}"
    );

    // The same again: refused, status 1, nothing written.
    let out = flagstone(&app, &["generate", "resource", "book", "title:text"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--force"));

    // A second project in the same folder is refused.
    let out = flagstone(dir.path(), &["new", "shelf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not empty"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_arguments_exit_with_2_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = flagstone(dir.path(), &["new", "shelf"]);
    assert!(out.status.success());
    let app = dir.path().join("shelf");
    for (args, message) in [
        (
            &["generate", "resource", "book", "title:strng"][..],
            "unknown type `strng` (did you mean `string`?)",
        ),
        (
            &["generate", "resource", "book", "title:string:uniqe"],
            "unknown modifier `uniqe`",
        ),
        (
            &["generate", "resource", "book", "by:ref(Author)"],
            "unknown ref `Author`",
        ),
        (&["generate", "resource", "book"], "at least one field"),
        (&["generate", "service", "9lives"], "invalid service name"),
        (&["generate", "widget", "x"], "unrecognized subcommand"),
    ] {
        let out = flagstone(&app, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains('\x1b'), "no colour when piped");
    }
    let out = flagstone(dir.path(), &["generate", "service", "billing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a Flagstone project"));
    let out = flagstone(dir.path(), &["new", "Bad Name"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid project name"));
    let out = flagstone(
        dir.path(),
        &["new", "x", "--flagstone-path", "/nonexistent"],
    );
    assert_eq!(out.status.code(), Some(2));
}

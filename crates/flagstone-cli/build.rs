//! Embeds every file under the repository's `templates/` folder: writes
//! `$OUT_DIR/templates.rs`, a list of `(relative path, include_str!(absolute path))`.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("../../templates");
    let root = root.canonicalize().expect("the templates/ folder exists");
    println!("cargo::rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from(
        "/// Every template: its path under `templates/` and its text.\n\
         pub(crate) static TEMPLATES: &[(&str, &str)] = &[\n",
    );
    for (relative, absolute) in &files {
        println!("cargo::rerun-if-changed={}", absolute.display());
        out.push_str(&format!(
            "    ({relative:?}, include_str!({:?})),\n",
            absolute.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it")).join("templates.rs");
    fs::write(dest, out).expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = fs::read_dir(dir).expect("a readable templates folder");
    for entry in entries {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            // Folders are watched too, so added files are picked up.
            println!("cargo::rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            files.push((relative, path));
        }
    }
}

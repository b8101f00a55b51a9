//! `flagstone new`: a project in the layered layout, ready to build and test.

use std::path::Path;

use crate::{
    files::{Kind, Plan},
    generate::{mod_file, resources_file},
    render::Renderer,
};

/// How the new project depends on Flagstone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Dependency {
    /// The crates.io release matching this CLI.
    Release,
    /// A local checkout: the path of its `crates/flagstone` (or of the workspace root).
    Path(String),
}

impl Dependency {
    /// The value of `flagstone = ...` in the new `Cargo.toml`.
    fn toml(&self) -> String {
        match self {
            Self::Release => format!("\"{}\"", env!("CARGO_PKG_VERSION")),
            Self::Path(path) => format!("{{ path = {path:?} }}"),
        }
    }

    /// `--flagstone-path DIR`: the workspace root or the crate folder itself.
    pub(crate) fn local(dir: &Path) -> Result<Self, String> {
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("--flagstone-path {}: {e}", dir.display()))?;
        let krate = match dir.join("crates/flagstone/Cargo.toml").is_file() {
            true => dir.join("crates/flagstone"),
            false => dir.clone(),
        };
        let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap_or_default();
        if !manifest.contains("name = \"flagstone\"") {
            return Err(format!(
                "--flagstone-path {}: neither it nor its crates/flagstone is the flagstone crate",
                dir.display()
            ));
        }
        Ok(Self::Path(krate.to_string_lossy().into_owned()))
    }
}

/// Plans every file of project `name`.
pub(crate) fn plan(
    renderer: &Renderer,
    name: &str,
    dependency: &Dependency,
) -> Result<Plan, String> {
    check_package_name(name)?;
    let context = minijinja::context! {
        name,
        crate_name => name.replace('-', "_"),
        flagstone_dependency => dependency.toml(),
    };
    let mut plan = Plan::default();
    for (template, target) in Renderer::under("new") {
        plan.add(target, renderer.render(template, &context)?, Kind::Create);
    }
    for folder in ["models", "services", "middleware"] {
        plan.add(
            format!("src/{folder}/mod.rs"),
            mod_file(renderer, folder, &[])?,
            Kind::Owned,
        );
    }
    plan.add(
        "src/routes/resources.rs",
        resources_file(renderer, &[])?,
        Kind::Owned,
    );
    Ok(plan)
}

/// A Cargo package name that is also a good crate name.
fn check_package_name(name: &str) -> Result<(), String> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        return Err(format!(
            "invalid project name `{name}`: use lower-case letters, digits, `-` and `_`, starting with a letter (e.g. `my-api`)"
        ));
    }
    const TAKEN: &[&str] = &[
        "flagstone",
        "test",
        "std",
        "core",
        "alloc",
        "proc_macro",
        "self",
        "crate",
        "super",
    ];
    if TAKEN.contains(&name.replace('-', "_").as_str()) {
        return Err(format!(
            "invalid project name `{name}`: it clashes with a crate the project uses"
        ));
    }
    Ok(())
}

/// Refuses a target folder that holds files already, unless `force`.
pub(crate) fn check_target(dir: &Path, force: bool) -> Result<(), String> {
    let busy = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if busy && !force {
        return Err(format!(
            "{} exists and is not empty: pick another --path, or pass --force to write into it (files the project needs are overwritten)",
            dir.display()
        ));
    }
    Ok(())
}

//! Writing what was rendered: refusing to overwrite, rewriting generator-owned files, and
//! saying exactly what happened to each file.

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
};

use crate::render::MARKER;

/// How a planned file may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A new file: an existing one is an error, unless forced.
    Create,
    /// A file the generator owns (it starts with [`MARKER`]): rewritten whenever its content
    /// changes; one without the marker was taken over by hand and is left alone.
    Owned,
}

/// What happened to a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Written; it did not exist.
    Created,
    /// Written over an existing, different file (`--force`).
    Overwritten,
    /// A generator-owned list rewritten with the new module.
    Updated,
    /// Already exactly this.
    Unchanged,
    /// An owned file edited by hand: not written; the note says what to add.
    Skipped(String),
}

/// The files one command writes.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    files: Vec<(PathBuf, String, Kind)>,
}

impl Plan {
    /// Adds a file: `relative` to the project root. Rust files are formatted with rustfmt
    /// (when it is installed), so the project passes `cargo fmt --check` as written.
    pub(crate) fn add(&mut self, relative: impl Into<PathBuf>, content: String, kind: Kind) {
        let relative = relative.into();
        let content = match relative.extension().is_some_and(|e| e == "rs") {
            true => rustfmt(&content).unwrap_or(content),
            false => content,
        };
        self.files.push((relative, content, kind));
    }

    /// The planned files, relative to the root.
    #[cfg(test)]
    pub(crate) fn files(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files.iter().map(|(p, c, _)| (p.as_path(), c.as_str()))
    }

    /// Writes every file under `root`. Checks first: when a new file exists with other
    /// content and `force` is off, nothing at all is written and the error names every
    /// such file.
    pub(crate) fn apply(
        &self,
        root: &Path,
        force: bool,
    ) -> Result<Vec<(PathBuf, Outcome)>, String> {
        let conflicts: Vec<String> = self
            .files
            .iter()
            .filter(|(relative, content, kind)| {
                *kind == Kind::Create
                    && std::fs::read_to_string(root.join(relative)).is_ok_and(|old| old != *content)
            })
            .map(|(relative, _, _)| format!("  {}", relative.display()))
            .collect();
        if !conflicts.is_empty() && !force {
            return Err(format!(
                "these files exist already, so nothing was written (pass --force to overwrite them):\n{}",
                conflicts.join("\n")
            ));
        }
        let mut outcomes = Vec::new();
        for (relative, content, kind) in &self.files {
            let path = root.join(relative);
            let old = std::fs::read_to_string(&path).ok();
            let outcome = match (&old, kind) {
                (Some(old), _) if old == content => Outcome::Unchanged,
                (Some(old), Kind::Owned) if !old.starts_with(MARKER) => Outcome::Skipped(format!(
                    "it does not start with the `@generated` line, so it is yours now: make it match\n{}",
                    indent(content)
                )),
                (Some(_), Kind::Owned) => Outcome::Updated,
                (Some(_), Kind::Create) => Outcome::Overwritten,
                (None, _) => Outcome::Created,
            };
            if matches!(
                outcome,
                Outcome::Created | Outcome::Overwritten | Outcome::Updated
            ) {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                std::fs::write(&path, content)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            outcomes.push((relative.clone(), outcome));
        }
        Ok(outcomes)
    }
}

/// `source` as `rustfmt --edition 2024` formats it; `None` when rustfmt is missing or
/// fails (the source is then written as rendered).
fn rustfmt(source: &str) -> Option<String> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = source.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    match output.status.success() {
        true => String::from_utf8(output.stdout).ok(),
        false => None,
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether to colour standard output: a terminal, and `NO_COLOR` unset.
pub(crate) fn colour(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints one line per file: `create`, `overwrite`, `update`, `unchanged` or `skip` (with
/// its note).
pub(crate) fn report(
    out: &mut dyn Write,
    outcomes: &[(PathBuf, Outcome)],
    colour: bool,
) -> std::io::Result<()> {
    for (path, outcome) in outcomes {
        let (word, code) = match outcome {
            Outcome::Created => ("create", "32"),
            Outcome::Overwritten => ("overwrite", "33"),
            Outcome::Updated => ("update", "36"),
            Outcome::Unchanged => ("unchanged", "2"),
            Outcome::Skipped(_) => ("skip", "31"),
        };
        let word = match colour {
            true => format!("\x1b[{code}m{word:>9}\x1b[0m"),
            false => format!("{word:>9}"),
        };
        writeln!(out, "{word}  {}", path.display())?;
        if let Outcome::Skipped(note) = outcome {
            writeln!(out, "           {note}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn existing_files_are_refused_then_forced_and_owned_ones_respected() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("a.rs"), "mine").unwrap();
        std::fs::write(root.join("hand.rs"), "// edited by hand\n").unwrap();
        let mut plan = Plan::default();
        plan.add("a.rs", "generated".into(), Kind::Create);
        plan.add("sub/b.rs", "b".into(), Kind::Create);
        plan.add("hand.rs", format!("{MARKER}\nnew"), Kind::Owned);
        plan.add("owned.rs", format!("{MARKER}\nv1"), Kind::Owned);

        let e = plan.apply(root, false).unwrap_err();
        assert!(e.contains("a.rs") && e.contains("--force"), "{e}");
        assert!(!root.join("sub/b.rs").exists(), "nothing written");
        assert_eq!(std::fs::read_to_string(root.join("a.rs")).unwrap(), "mine");

        let outcomes = plan.apply(root, true).unwrap();
        assert_eq!(
            rustfmt("fn  main( ){ }").as_deref(),
            Some("fn main() {}\n"),
            "rustfmt formats generated Rust"
        );
        let kinds: Vec<&Outcome> = outcomes.iter().map(|(_, o)| o).collect();
        assert_eq!(kinds[0], &Outcome::Overwritten);
        assert_eq!(kinds[1], &Outcome::Created);
        assert!(matches!(kinds[2], Outcome::Skipped(_)));
        assert_eq!(kinds[3], &Outcome::Created);
        assert_eq!(
            std::fs::read_to_string(root.join("hand.rs")).unwrap(),
            "// edited by hand\n"
        );

        // Again: everything is as planned, so nothing changes and nothing is refused.
        let again = plan.apply(root, false).unwrap();
        assert!(again[..2].iter().all(|(_, o)| *o == Outcome::Unchanged));
        assert_eq!(again[3].1, Outcome::Unchanged);

        let mut out = Vec::new();
        report(&mut out, &outcomes, false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("overwrite  a.rs\n   create  sub/b.rs\n"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
    }
}

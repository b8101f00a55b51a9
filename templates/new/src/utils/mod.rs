//! Small helpers with no dependencies on the rest of the app.

/// `Hello, World!` → `hello-world`.
pub fn slugify(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_lower_case_words_joined_by_dashes() {
        assert_eq!(super::slugify("  Hello, World! 2026 "), "hello-world-2026");
    }
}

//! Names in their several spellings: `blog post`, `BlogPost`, `blog_post`, `blog_posts`,
//! `/blog-posts`.

/// Rust's keywords, which are no module or field names.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try",
];

/// A name given on the command line, split into lower-case words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Name {
    words: Vec<String>,
}

impl Name {
    /// Reads `blog_post`, `blog-post`, `BlogPost` or `blogPost`. Letters and digits only,
    /// starting with a letter.
    pub(crate) fn parse(text: &str, what: &str) -> Result<Self, String> {
        if !text.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "invalid {what} name `{text}`: use letters, digits, `_` or `-`, starting with a letter (e.g. `blog_post`)"
            ));
        }
        let mut words: Vec<String> = Vec::new();
        for part in text.split(['_', '-']).filter(|p| !p.is_empty()) {
            let mut word = String::new();
            let mut previous_lower = false;
            for c in part.chars() {
                if c.is_ascii_uppercase() && previous_lower && !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
                word.push(c.to_ascii_lowercase());
            }
            if !word.is_empty() {
                words.push(word);
            }
        }
        let name = Self { words };
        if KEYWORDS.contains(&name.snake().as_str()) {
            return Err(format!(
                "invalid {what} name `{text}`: `{}` is a Rust keyword",
                name.snake()
            ));
        }
        Ok(name)
    }

    /// `blog_post`.
    pub(crate) fn snake(&self) -> String {
        self.words.join("_")
    }

    /// `BlogPost`.
    pub(crate) fn pascal(&self) -> String {
        self.words
            .iter()
            .map(|w| {
                let mut chars = w.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            })
            .collect()
    }

    /// `blog post`.
    pub(crate) fn title(&self) -> String {
        self.words.join(" ")
    }

    /// The name with its last word in the plural: `blog_posts`.
    pub(crate) fn plural(&self) -> Self {
        let mut words = self.words.clone();
        if let Some(last) = words.last_mut() {
            *last = plural(last);
        }
        Self { words }
    }

    /// `blog-posts`.
    pub(crate) fn kebab(&self) -> String {
        self.words.join("-")
    }
}

/// English plurals by the common rules: `category` → `categories`, `box` → `boxes`,
/// `post` → `posts`; a word already ending in `s` is taken as plural.
fn plural(word: &str) -> String {
    let consonant_y = word.len() > 1
        && word.ends_with('y')
        && !word[..word.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if word.ends_with("ss")
        || word.ends_with(['x', 'z'])
        || word.ends_with("ch")
        || word.ends_with("sh")
    {
        format!("{word}es")
    } else if word.ends_with('s') {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

/// Whether `text` is a snake_case identifier that is no keyword: `published_at`.
pub(crate) fn is_snake_ident(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_spelling_gives_the_same_words() {
        for text in ["blog_post", "blog-post", "BlogPost", "blogPost"] {
            let name = Name::parse(text, "resource").unwrap();
            assert_eq!(name.snake(), "blog_post", "{text}");
            assert_eq!(name.pascal(), "BlogPost");
            assert_eq!(name.plural().snake(), "blog_posts");
            assert_eq!(name.plural().kebab(), "blog-posts");
        }
    }

    #[test]
    fn plurals_follow_the_common_rules() {
        let plural = |s: &str| Name::parse(s, "x").unwrap().plural().snake();
        assert_eq!(plural("category"), "categories");
        assert_eq!(plural("day"), "days");
        assert_eq!(plural("fox"), "foxes");
        assert_eq!(plural("address"), "addresses");
        assert_eq!(plural("news"), "news");
        assert_eq!(plural("book"), "books");
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(
            Name::parse("2fast", "resource")
                .unwrap_err()
                .contains("starting with a letter")
        );
        assert!(Name::parse("blog post", "resource").is_err());
        assert!(
            Name::parse("type", "resource")
                .unwrap_err()
                .contains("keyword")
        );
        assert!(is_snake_ident("published_at"));
        assert!(!is_snake_ident("PublishedAt"));
        assert!(!is_snake_ident("match"));
    }
}

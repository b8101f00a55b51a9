//! Field specifications: `title:string:unique:filter:sort`, `tags:[string]`,
//! `due:datetime?`, `status:enum(draft|published)`, `author:ref(Author)`.
//!
//! ```text
//! spec      = name ":" type (":" modifier)*
//! type      = base "?"?  |  "[" base "]" "?"?
//! base      = string | text | int | float | bool | datetime | enum(a|b|..) | ref(Model)
//! modifier  = unique | filter | sort | select | hidden | read_only | write_only
//! ```

use crate::names::{Name, is_snake_ident};

/// The field names a generated model declares itself.
const RESERVED: &[&str] = &["id", "_id", "owner", "created_at", "updated_at"];

/// The base types.
const TYPES: &str = "string, text, int, float, bool, datetime, enum(a|b), ref(Model)";

/// The modifiers.
const MODIFIERS: &[&str] = &[
    "unique",
    "filter",
    "sort",
    "select",
    "hidden",
    "read_only",
    "write_only",
];

/// What one element of a field holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    /// A short string (at most 200 characters).
    String,
    /// A long string (at most 20 000 characters).
    Text,
    /// An `i64`.
    Int,
    /// An `f64`.
    Float,
    /// A `bool`.
    Bool,
    /// A `Timestamp`.
    DateTime,
    /// A string, one of these values.
    Enum(Vec<String>),
    /// The id of a document of this model (`User`, or one in `src/models`).
    Ref(String),
}

/// Who sees and sets a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// In input and output.
    Normal,
    /// Never in input or output.
    Hidden,
    /// In output only; the server sets it.
    ReadOnly,
    /// In input only.
    WriteOnly,
}

/// One parsed field specification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldSpec {
    /// The field's name, snake_case.
    pub(crate) name: String,
    /// What each element holds.
    pub(crate) base: Base,
    /// A `Vec` of `base`.
    pub(crate) array: bool,
    /// An `Option`.
    pub(crate) optional: bool,
    /// `unique`.
    pub(crate) unique: bool,
    /// `filter`.
    pub(crate) filter: bool,
    /// `sort`.
    pub(crate) sort: bool,
    /// `select`.
    pub(crate) select: bool,
    /// `hidden`, `read_only` or `write_only`.
    pub(crate) visibility: Visibility,
}

impl FieldSpec {
    /// Parses one specification; the error says what is wrong and what would be right.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let fail = |message: String| format!("field `{text}`: {message}");
        let mut parts = split_top_level(text).into_iter();
        let name = parts.next().unwrap_or_default();
        if name.is_empty() {
            return Err(fail("expected `name:type`, like `title:string`".to_owned()));
        }
        if !is_snake_ident(name) {
            return Err(fail(format!(
                "`{name}` is no field name: use snake_case letters, digits and `_` (not a Rust keyword)"
            )));
        }
        if RESERVED.contains(&name) {
            return Err(fail(format!(
                "`{name}` is declared by every generated model already (id, owner, created_at, updated_at)"
            )));
        }
        let Some(ty) = parts.next() else {
            return Err(fail(format!(
                "no type: write `{name}:string` (types: {TYPES})"
            )));
        };
        let (ty, optional) = match ty.strip_suffix('?') {
            Some(rest) => (rest, true),
            None => (ty, false),
        };
        let (ty, array) = match ty.strip_prefix('[') {
            Some(rest) => match rest.strip_suffix(']') {
                Some(inner) => (inner, true),
                None => return Err(fail(format!("`[{rest}` lacks its `]`: write `[string]`"))),
            },
            None => (ty, false),
        };
        if array && ty.ends_with('?') {
            return Err(fail(
                "an array holds no missing elements: write `[string]?` for an optional array, not `[string?]`"
                    .to_owned(),
            ));
        }
        let base = parse_base(ty).map_err(fail)?;
        let mut spec = Self {
            name: name.to_owned(),
            base,
            array,
            optional,
            unique: false,
            filter: false,
            sort: false,
            select: false,
            visibility: Visibility::Normal,
        };
        for modifier in parts {
            spec.modifier(modifier).map_err(fail)?;
        }
        spec.check().map_err(fail)?;
        Ok(spec)
    }

    fn modifier(&mut self, modifier: &str) -> Result<(), String> {
        let duplicate = || format!("`{modifier}` is given twice");
        let flag = |slot: &mut bool| match std::mem::replace(slot, true) {
            true => Err(duplicate()),
            false => Ok(()),
        };
        match modifier {
            "unique" => flag(&mut self.unique),
            "filter" => flag(&mut self.filter),
            "sort" => flag(&mut self.sort),
            "select" => flag(&mut self.select),
            "hidden" | "read_only" | "write_only" => {
                if self.visibility != Visibility::Normal {
                    return Err(format!(
                        "`{modifier}` conflicts with an earlier visibility: a field is one of hidden, read_only or write_only"
                    ));
                }
                self.visibility = match modifier {
                    "hidden" => Visibility::Hidden,
                    "read_only" => Visibility::ReadOnly,
                    _ => Visibility::WriteOnly,
                };
                Ok(())
            }
            "" => Err("an empty modifier (two `:` in a row?)".to_owned()),
            other => Err(format!(
                "unknown modifier `{other}`{}; expected one of: {}",
                did_you_mean(other, MODIFIERS),
                MODIFIERS.join(", ")
            )),
        }
    }

    /// The rules `#[derive(Model)]` enforces, checked here so the generated code compiles.
    fn check(&self) -> Result<(), String> {
        let shown = matches!(self.visibility, Visibility::Normal | Visibility::ReadOnly);
        for (set, what) in [
            (self.filter, "filter"),
            (self.sort, "sort"),
            (self.select, "select"),
        ] {
            if set && !shown {
                return Err(format!(
                    "`{what}` on a field that responses never show would reveal it"
                ));
            }
        }
        let server_set = matches!(self.visibility, Visibility::Hidden | Visibility::ReadOnly);
        if server_set && !self.optional && !self.array && self.base == Base::DateTime {
            return Err(
                "a hidden or read_only datetime is set by the server and has no default: make it optional (`datetime?`)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// Whether requests may carry it.
    pub(crate) fn in_input(&self) -> bool {
        matches!(self.visibility, Visibility::Normal | Visibility::WriteOnly)
    }

    /// Whether responses show it.
    pub(crate) fn in_view(&self) -> bool {
        matches!(self.visibility, Visibility::Normal | Visibility::ReadOnly)
    }

    /// The model it references, if any.
    pub(crate) fn reference(&self) -> Option<&str> {
        match &self.base {
            Base::Ref(model) => Some(model),
            _ => None,
        }
    }
}

/// Splits at the `:`s that are not inside parentheses (`enum(a|b)` has none anyway, but a
/// clear error beats a confusing one).
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_base(ty: &str) -> Result<Base, String> {
    let simple = match ty {
        "string" => Some(Base::String),
        "text" => Some(Base::Text),
        "int" => Some(Base::Int),
        "float" => Some(Base::Float),
        "bool" => Some(Base::Bool),
        "datetime" => Some(Base::DateTime),
        _ => None,
    };
    if let Some(base) = simple {
        return Ok(base);
    }
    if let Some(inner) = ty.strip_prefix("enum(").and_then(|r| r.strip_suffix(')')) {
        let values: Vec<String> = inner.split('|').map(str::to_owned).collect();
        if let Some(bad) = values.iter().find(|v| {
            v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }) {
            return Err(format!(
                "enum value `{bad}`: values are letters, digits, `_` or `-`, separated by `|`: `enum(draft|published)`"
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = values.iter().find(|v| !seen.insert(v.as_str())) {
            return Err(format!("enum value `{twice}` is given twice"));
        }
        return Ok(Base::Enum(values));
    }
    if let Some(inner) = ty.strip_prefix("ref(").and_then(|r| r.strip_suffix(')')) {
        let name = Name::parse(inner, "referenced model")?;
        return Ok(Base::Ref(name.pascal()));
    }
    let known: Vec<&str> = vec![
        "string", "text", "int", "float", "bool", "datetime", "enum", "ref",
    ];
    Err(format!(
        "unknown type `{ty}`{}; expected one of: {TYPES}, as `[type]` for an array, with `?` for optional",
        did_you_mean(ty, &known)
    ))
}

/// ` (did you mean `x`?)` when `word` is a likely typo of one of `known`.
fn did_you_mean(word: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (distance(word, k), *k))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2 => format!(" (did you mean `{k}`?)"),
        _ => String::new(),
    }
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(previous + usize::from(ca != *cb));
            previous = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Checks the specifications together: no field twice, and every `ref(Model)` names
/// `User`, the model being generated, or one of `known` (the models in `src/models`).
pub(crate) fn check_all(fields: &[FieldSpec], this: &str, known: &[String]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for field in fields {
        if !seen.insert(field.name.as_str()) {
            return Err(format!("field `{}` is given twice", field.name));
        }
        if let Some(model) = field.reference()
            && model != "User"
            && model != this
            && !known.iter().any(|k| k == model)
        {
            let mut choices: Vec<&str> = vec!["User", this];
            choices.extend(known.iter().map(String::as_str));
            return Err(format!(
                "field `{}`: unknown ref `{model}`{}; a reference names User, {this} or a model in src/models ({}); generate `{model}` first",
                field.name,
                did_you_mean(model, &choices),
                choices.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn error(text: &str) -> String {
        FieldSpec::parse(text).unwrap_err()
    }

    #[test]
    fn full_specifications_parse() {
        let f = FieldSpec::parse("title:string:unique:filter:sort").unwrap();
        assert_eq!((f.name.as_str(), &f.base), ("title", &Base::String));
        assert!(f.unique && f.filter && f.sort && !f.select && !f.array && !f.optional);

        let f = FieldSpec::parse("tags:[enum(a|b-c|d_e)]?:select").unwrap();
        assert_eq!(
            f.base,
            Base::Enum(vec!["a".into(), "b-c".into(), "d_e".into()])
        );
        assert!(f.array && f.optional && f.select);

        let f = FieldSpec::parse("author:ref(blog_author):filter").unwrap();
        assert_eq!(f.reference(), Some("BlogAuthor"));

        let f = FieldSpec::parse("note:text?:write_only").unwrap();
        assert!(f.in_input() && !f.in_view());
        let f = FieldSpec::parse("seen:datetime?:read_only").unwrap();
        assert!(!f.in_input() && f.in_view());
    }

    #[test]
    fn a_bad_type_is_named_with_a_suggestion() {
        let e = error("title:strng");
        assert!(
            e.contains("unknown type `strng` (did you mean `string`?)"),
            "{e}"
        );
        assert!(e.contains("expected one of: string, text"), "{e}");
        assert!(error("title").contains("no type"));
        assert!(error("tags:[string").contains("lacks its `]`"));
        assert!(error("tags:[string?]").contains("`[string]?`"));
        assert!(error("s:enum(a||b)").contains("enum value ``"));
        assert!(error("s:enum(a|a)").contains("given twice"));
        assert!(error("s:enum(a b)").contains("enum value `a b`"));
        assert!(error("r:ref(2x)").contains("invalid referenced model name"));
    }

    #[test]
    fn a_bad_modifier_is_named_with_a_suggestion() {
        let e = error("title:string:uniqe");
        assert!(
            e.contains("unknown modifier `uniqe` (did you mean `unique`?)"),
            "{e}"
        );
        assert!(error("title:string:sort:sort").contains("`sort` is given twice"));
        assert!(error("title:string:hidden:read_only").contains("conflicts"));
        assert!(error("title:string::sort").contains("empty modifier"));
        assert!(error("secret:string:hidden:filter").contains("would reveal it"));
        assert!(error("at:datetime:read_only").contains("`datetime?`"));
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(error("Title:string").contains("snake_case"));
        assert!(error("type:string").contains("snake_case"));
        assert!(error("owner:string").contains("declared by every generated model"));
        assert!(error(":string").contains("expected `name:type`"));
    }

    #[test]
    fn an_unknown_ref_is_refused() {
        let fields = vec![
            FieldSpec::parse("author:ref(Autor)").unwrap(),
            FieldSpec::parse("parent:ref(Book)").unwrap(),
        ];
        let e = check_all(&fields, "Book", &["Author".into()]).unwrap_err();
        assert!(
            e.contains("unknown ref `Autor` (did you mean `Author`?)"),
            "{e}"
        );
        let fields = vec![
            FieldSpec::parse("author:ref(Author)").unwrap(),
            FieldSpec::parse("by:ref(User)").unwrap(),
            FieldSpec::parse("parent:ref(Book)?").unwrap(),
        ];
        check_all(&fields, "Book", &["Author".into()]).unwrap();
        let twice = vec![
            FieldSpec::parse("a:int").unwrap(),
            FieldSpec::parse("a:bool").unwrap(),
        ];
        assert!(
            check_all(&twice, "Book", &[])
                .unwrap_err()
                .contains("given twice")
        );
    }
}

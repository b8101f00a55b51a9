//! `#[derive(Validate)]` through the public API: every rule on valid, invalid and edge
//! values, error paths (nested, flattened, `each`, renamed), one pass collecting every
//! violation, `constraints()`, and generic structs.
#![allow(clippy::unwrap_used)]

use std::borrow::Cow;

use flagstone::{
    ErrorKind,
    prelude::*,
    validation::{Constraint, FieldPath, Violation},
};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// `(path, code)` of every violation, in order.
fn errors<T: Validate>(value: &T) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    value.validate_at(&mut FieldPath::default(), &mut errors);
    errors
        .into_iter()
        .map(|e| (e.field, e.code.into_owned()))
        .collect()
}

/// `(path, message)` of every violation, in order.
fn messages<T: Validate>(value: &T) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    value.validate_at(&mut FieldPath::default(), &mut errors);
    errors
        .into_iter()
        .map(|e| (e.field, e.message.into_owned()))
        .collect()
}

fn parse<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

// ---------------------------------------------------------------- strings and lengths

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct Lengths {
    #[validate(len(min = 3, max = 5))]
    name: String,
    #[validate(len(min = 2, max = 2))]
    code: String,
    #[validate(len(min = 2))]
    at_least: String,
    #[validate(len(max = 3))]
    at_most: String,
}

fn lengths(name: &str, code: &str, at_least: &str, at_most: &str) -> Lengths {
    parse(json!({"name": name, "code": code, "at_least": at_least, "at_most": at_most}))
}

#[test]
fn len_counts_characters_with_inclusive_bounds() {
    assert!(errors(&lengths("abc", "ab", "ab", "abc")).is_empty());
    assert!(errors(&lengths("abcde", "xy", "abcdef", "")).is_empty());
    // Characters, not bytes: "ééé" is 6 bytes and 3 characters.
    assert!(errors(&lengths("ééé", "日本", "🦀🦀", "äöü")).is_empty());
    assert_eq!(
        messages(&lengths("ab", "abc", "a", "abcd")),
        pairs(&[
            ("name", "must be 3 to 5 characters"),
            ("code", "must be exactly 2 characters"),
            ("at_least", "must be at least 2 characters"),
            ("at_most", "must be at most 3 characters"),
        ])
    );
    assert_eq!(
        errors(&lengths("abcdef", "", "", "ééééé")),
        pairs(&[
            ("name", "length"),
            ("code", "length"),
            ("at_least", "length"),
            ("at_most", "length")
        ])
    );
}

#[derive(Deserialize, Validate)]
struct NonEmpty {
    #[validate(non_empty)]
    body: String,
    #[validate(non_empty)]
    list: Vec<u8>,
}

#[test]
fn non_empty_refuses_blank_strings_and_empty_collections() {
    let ok: NonEmpty = parse(json!({"body": " x ", "list": [0]}));
    assert!(errors(&ok).is_empty());
    for blank in ["", " ", "\t\n ", "\u{3000}"] {
        let bad: NonEmpty = parse(json!({"body": blank, "list": []}));
        assert_eq!(
            messages(&bad),
            pairs(&[("body", "must not be empty"), ("list", "must not be empty")]),
            "{blank:?}"
        );
        assert_eq!(errors(&bad)[0].1, "non_empty");
    }
}

// ---------------------------------------------------------------- numbers

#[derive(Deserialize, Validate)]
struct Numbers {
    #[validate(range(min = 0, max = 100))]
    qty: i32,
    #[validate(range(min = 0.5))]
    price: f64,
    #[validate(range(max = -1))]
    debt: i64,
    #[validate(range(min = 1, max = 10))]
    small: u8,
}

#[test]
fn range_is_inclusive_and_refuses_nan() {
    let ok = Numbers {
        qty: 0,
        price: 0.5,
        debt: -1,
        small: 10,
    };
    assert!(errors(&ok).is_empty());
    let ok = Numbers {
        qty: 100,
        price: f64::INFINITY,
        debt: i64::MIN,
        small: 1,
    };
    assert!(errors(&ok).is_empty());
    let bad = Numbers {
        qty: 101,
        price: 0.49,
        debt: 0,
        small: 0,
    };
    assert_eq!(
        messages(&bad),
        pairs(&[
            ("qty", "must be between 0 and 100"),
            ("price", "must be at least 0.5"),
            ("debt", "must be at most -1"),
            ("small", "must be between 1 and 10"),
        ])
    );
    let bad = Numbers {
        qty: -1,
        price: f64::NAN,
        debt: -2,
        small: 5,
    };
    assert_eq!(errors(&bad), pairs(&[("qty", "range"), ("price", "range")]));
    let parsed: Numbers = parse(json!({"qty": 50, "price": 1e9, "debt": -5, "small": 3}));
    assert!(errors(&parsed).is_empty());
}

// ---------------------------------------------------------------- string formats

#[derive(Deserialize, Validate)]
struct Formats {
    #[validate(pattern = "^[a-z0-9-]+$")]
    slug: String,
    #[validate(pattern = "[0-9]{3}")]
    digits: String,
    #[validate(email)]
    email: String,
    #[validate(url)]
    homepage: Option<String>,
    #[validate(one_of("draft", "published"))]
    status: String,
}

fn formats(slug: &str, digits: &str, email: &str, homepage: Value, status: &str) -> Formats {
    parse(
        json!({"slug": slug, "digits": digits, "email": email, "homepage": homepage, "status": status}),
    )
}

#[test]
fn patterns_match_the_whole_value() {
    assert!(
        errors(&formats(
            "hello-world-2",
            "123",
            "a@b.co",
            Value::Null,
            "draft"
        ))
        .is_empty()
    );
    // An unanchored pattern is anchored: "1234" and "x123" contain three digits but are not three digits.
    for digits in ["1234", "x123", "12", ""] {
        let bad = formats("ok", digits, "a@b.co", Value::Null, "draft");
        assert_eq!(
            messages(&bad),
            pairs(&[("digits", "must match ^(?:[0-9]{3})$")]),
            "{digits}"
        );
    }
    for slug in ["Hello", "a b", "", "ü"] {
        let bad = formats(slug, "123", "a@b.co", Value::Null, "draft");
        assert_eq!(
            messages(&bad),
            pairs(&[("slug", "must match ^[a-z0-9-]+$")]),
            "{slug}"
        );
    }
}

#[test]
fn emails_urls_and_choices() {
    let bad = formats("ok", "123", "not-an-email", json!("example.com"), "Draft");
    assert_eq!(
        messages(&bad),
        pairs(&[
            ("email", "must be an email address"),
            ("homepage", "must be an http or https URL"),
            ("status", "must be one of: draft, published"),
        ])
    );
    assert_eq!(
        errors(&bad),
        pairs(&[
            ("email", "email"),
            ("homepage", "url"),
            ("status", "one_of")
        ])
    );
    let ok = formats(
        "ok",
        "123",
        "first.last+tag@sub.example.org",
        json!("https://example.com/x?y=1"),
        "published",
    );
    assert!(errors(&ok).is_empty());
    // The rules of an Option apply only when it is there.
    let absent = formats("ok", "123", "a@b.co", Value::Null, "draft");
    assert!(absent.homepage.is_none() && errors(&absent).is_empty());
    let empty = formats("ok", "123", "", json!(""), "");
    assert_eq!(
        errors(&empty),
        pairs(&[
            ("email", "email"),
            ("homepage", "url"),
            ("status", "one_of")
        ])
    );
}

// ---------------------------------------------------------------- Option and required

#[derive(Deserialize, Validate)]
struct Optional {
    #[validate(required)]
    author: Option<String>,
    #[validate(required, non_empty)]
    nick: Option<String>,
    #[serde(default)]
    #[validate(len(max = 3))]
    note: Option<String>,
}

#[test]
fn required_tells_missing_and_null_from_empty() {
    let missing: Optional = parse(json!({}));
    assert_eq!(
        messages(&missing),
        pairs(&[("author", "is required"), ("nick", "is required")])
    );
    assert_eq!(
        errors(&missing),
        pairs(&[("author", "required"), ("nick", "required")])
    );
    let null: Optional = parse(json!({"author": null, "nick": null, "note": null}));
    assert_eq!(
        errors(&null),
        pairs(&[("author", "required"), ("nick", "required")])
    );
    // Present but empty is present: only `non_empty` refuses it.
    let empty: Optional = parse(json!({"author": "", "nick": " "}));
    assert_eq!(errors(&empty), pairs(&[("nick", "non_empty")]));
    let full: Optional = parse(json!({"author": "Ada", "nick": "ada", "note": "abcd"}));
    assert_eq!(errors(&full), pairs(&[("note", "length")]));
}

#[derive(Validate)]
struct Patch {
    /// Absent (`None`), cleared (`Some(None)`) or set.
    #[validate(len(max = 2))]
    title: Option<Option<String>>,
}

#[test]
fn rules_reach_through_nested_options() {
    assert!(errors(&Patch { title: None }).is_empty());
    assert!(errors(&Patch { title: Some(None) }).is_empty());
    assert!(
        errors(&Patch {
            title: Some(Some("ab".into()))
        })
        .is_empty()
    );
    assert_eq!(
        errors(&Patch {
            title: Some(Some("abc".into()))
        }),
        pairs(&[("title", "length")])
    );
}

// ---------------------------------------------------------------- custom

fn check_title(title: &str) -> Result<(), Violation> {
    match title.chars().next().is_some_and(char::is_uppercase) {
        true => Ok(()),
        false => Err(Violation::new(
            "capitalized",
            "must start with a capital letter",
        )),
    }
}

fn even(n: &i64) -> Result<(), Violation> {
    match n % 2 {
        0 => Ok(()),
        _ => Err(Violation::new("even", "must be even")),
    }
}

mod checks {
    use flagstone::validation::Violation;

    pub(crate) fn not_admin(name: &String) -> Result<(), Violation> {
        match name.eq_ignore_ascii_case("admin") {
            true => Err(Violation::new("reserved", format!("`{name}` is reserved"))),
            false => Ok(()),
        }
    }
}

#[derive(Deserialize, Validate)]
struct Custom {
    #[validate(custom = check_title, len(max = 10))]
    subtitle: String,
    #[validate(custom = even)]
    count: Option<i64>,
    #[validate(custom = checks::not_admin, custom = "check_title")]
    login: String,
}

#[test]
fn custom_rules_give_their_own_code_and_message() {
    let ok: Custom = parse(json!({"subtitle": "Hello", "count": 4, "login": "Ada"}));
    assert!(errors(&ok).is_empty());
    let bad: Custom = parse(json!({"subtitle": "hello world!", "count": 3, "login": "admin"}));
    assert_eq!(
        messages(&bad),
        pairs(&[
            ("subtitle", "must start with a capital letter"),
            ("subtitle", "must be at most 10 characters"),
            ("count", "must be even"),
            ("login", "`admin` is reserved"),
            ("login", "must start with a capital letter"),
        ])
    );
    assert_eq!(errors(&bad)[0].1, "capitalized");
    // A custom rule on an Option runs on the value, when there is one.
    let absent: Custom = parse(json!({"subtitle": "Hi", "login": "Bob"}));
    assert!(errors(&absent).is_empty());
}

// ---------------------------------------------------------------- nested and flatten

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct Item {
    #[validate(range(min = 1))]
    qty: i32,
}

#[derive(Deserialize, Validate)]
struct Address {
    #[validate(non_empty)]
    city: String,
}

#[derive(Deserialize, Validate)]
struct Contact {
    #[validate(email)]
    email: String,
    #[validate(nested)]
    address: Option<Address>,
}

#[derive(Deserialize, Validate)]
struct Order {
    #[validate(nested)]
    items: Vec<Item>,
    #[validate(nested)]
    address: Address,
    #[validate(nested)]
    billing: Option<Address>,
    #[validate(nested)]
    gift: Box<Item>,
    #[serde(flatten)]
    #[validate(nested)]
    contact: Contact,
}

#[test]
fn nested_values_report_full_paths() {
    let order: Order = parse(json!({
        "items": [{"qty": 1}, {"qty": 2}, {"qty": 0}, {"qty": -5}],
        "address": {"city": ""},
        "billing": {"city": " "},
        "gift": {"qty": 0},
        "email": "nope",
        "address_extra": null,
    }));
    assert_eq!(
        errors(&order),
        pairs(&[
            ("items[2].qty", "range"),
            ("items[3].qty", "range"),
            ("address.city", "non_empty"),
            ("billing.city", "non_empty"),
            ("gift.qty", "range"),
            ("email", "email"),
        ])
    );
    let ok: Order = parse(json!({
        "items": [],
        "address": {"city": "Paris"},
        "gift": {"qty": 1},
        "email": "a@b.co",
    }));
    assert!(errors(&ok).is_empty());
}

#[derive(Deserialize, Validate)]
struct Wrapper {
    #[validate(range(max = 10))]
    version: u32,
    #[serde(flatten)]
    #[validate(nested)]
    contact: Option<Contact>,
}

#[test]
fn a_flattened_value_is_checked_at_the_same_level() {
    let nested: Wrapper = parse(json!({"version": 11, "email": "x", "address": {"city": ""}}));
    assert_eq!(
        errors(&nested),
        pairs(&[
            ("version", "range"),
            ("email", "email"),
            ("address.city", "non_empty")
        ])
    );
}

#[test]
fn validate_at_extends_the_path_it_is_given() {
    let item: Item = parse(json!({"qty": 0}));
    let mut path = FieldPath::default();
    let mark = path.push_field("body");
    path.push_index(4);
    let mut found = Vec::new();
    item.validate_at(&mut path, &mut found);
    assert_eq!(found[0].field, "body[4].qty");
    path.truncate(mark);
    assert_eq!(path.as_str(), "");
}

// ---------------------------------------------------------------- each

#[derive(Deserialize, Validate)]
struct Lists {
    #[validate(len(max = 3), each(len(min = 1, max = 5)))]
    tags: Vec<String>,
    #[validate(each(nested))]
    items: Vec<Item>,
    #[validate(each(required))]
    slots: Vec<Option<u8>>,
    #[validate(each(each(range(max = 9))))]
    grid: Vec<Vec<u8>>,
    #[validate(each(email))]
    cc: Option<Vec<String>>,
    #[validate(non_empty, each(one_of("a", "b")))]
    letters: [String; 2],
}

#[test]
fn each_checks_every_element_at_its_index() {
    let lists: Lists = parse(json!({
        "tags": ["ok", "", "toolong", "x"],
        "items": [{"qty": 1}, {"qty": 0}],
        "slots": [1, null, 3],
        "grid": [[1, 2], [10, 3, 11]],
        "cc": ["a@b.co", "nope"],
        "letters": ["a", "c"],
    }));
    assert_eq!(
        errors(&lists),
        pairs(&[
            ("tags", "length"),
            ("tags[1]", "length"),
            ("tags[2]", "length"),
            ("items[1].qty", "range"),
            ("slots[1]", "required"),
            ("grid[1][0]", "range"),
            ("grid[1][2]", "range"),
            ("cc[1]", "email"),
            ("letters[1]", "one_of"),
        ])
    );
    assert_eq!(messages(&lists)[0].1, "must be at most 3 items");
    assert_eq!(messages(&lists)[1].1, "must be 1 to 5 characters");
    let ok: Lists = parse(json!({
        "tags": [], "items": [], "slots": [], "grid": [[]], "cc": null, "letters": ["a", "b"],
    }));
    assert!(errors(&ok).is_empty());
}

// ---------------------------------------------------------------- names

#[derive(Deserialize, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Renamed {
    #[validate(len(min = 1))]
    first_name: String,
    #[serde(rename = "family")]
    #[validate(len(min = 1))]
    last_name: String,
    #[serde(rename(serialize = "ignored", deserialize = "nick"))]
    #[validate(len(min = 1))]
    nick_name: String,
    #[validate(one_of("a"))]
    r#type: String,
    #[validate(nested)]
    home_address: Vec<Address>,
}

#[test]
fn paths_use_the_json_names() {
    let renamed: Renamed = parse(json!({
        "firstName": "", "family": "", "nick": "", "type": "b", "homeAddress": [{"city": ""}],
    }));
    let paths: Vec<String> = errors(&renamed).into_iter().map(|(path, _)| path).collect();
    assert_eq!(
        paths,
        ["firstName", "family", "nick", "type", "homeAddress[0].city"]
    );
}

macro_rules! rename_all_cases {
    ($($name:ident: $rule:literal => $key:literal,)*) => {
        $(
            #[derive(Deserialize, Validate)]
            #[serde(rename_all = $rule, deny_unknown_fields)]
            struct $name {
                #[validate(non_empty)]
                home_page_url: String,
            }
        )*

        #[test]
        fn every_rename_all_rule_names_fields_as_serde_does() {
            $(
                // serde accepts the key (unknown fields are refused), and the path is the key.
                let value: $name = parse(json!({ $key: "" }));
                assert_eq!(errors(&value), pairs(&[($key, "non_empty")]), $rule);
            )*
        }
    };
}

rename_all_cases! {
    Lower: "lowercase" => "home_page_url",
    Upper: "UPPERCASE" => "HOME_PAGE_URL",
    Pascal: "PascalCase" => "HomePageUrl",
    Camel: "camelCase" => "homePageUrl",
    Snake: "snake_case" => "home_page_url",
    ScreamingSnake: "SCREAMING_SNAKE_CASE" => "HOME_PAGE_URL",
    Kebab: "kebab-case" => "home-page-url",
    ScreamingKebab: "SCREAMING-KEBAB-CASE" => "HOME-PAGE-URL",
}

#[derive(Deserialize, Validate)]
struct Skipping {
    #[validate(len(max = 1))]
    kept: String,
    #[serde(skip)]
    cache: String,
    #[serde(skip_deserializing)]
    computed: Vec<u8>,
}

#[test]
fn skipped_fields_are_neither_checked_nor_listed() {
    let value = Skipping {
        kept: "x".into(),
        cache: "anything".repeat(100),
        computed: vec![1; 1000],
    };
    assert!(errors(&value).is_empty() && value.cache.len() + value.computed.len() > 0);
    let fields: Vec<&str> = Skipping::constraints().iter().map(|c| c.field).collect();
    assert_eq!(fields, ["kept"]);
}

// ---------------------------------------------------------------- one pass, one problem

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreatePost {
    #[validate(len(min = 3, max = 120))]
    title: String,
    #[validate(non_empty, len(max = 20_000))]
    body: String,
    #[validate(range(min = 0, max = 100))]
    qty: i32,
    #[validate(range(min = 0.5))]
    price: f64,
    #[validate(pattern = "^[a-z0-9-]+$")]
    slug: String,
    #[validate(email)]
    email: String,
    #[validate(url)]
    homepage: Option<String>,
    #[validate(one_of("draft", "published"))]
    status: String,
    #[validate(required)]
    author: Option<String>,
    #[validate(custom = check_title)]
    subtitle: String,
    #[validate(nested)]
    items: Vec<Item>,
    #[validate(len(max = 10), each(len(min = 1, max = 20)))]
    tags: Vec<String>,
    cover_url: String,
    #[serde(default)]
    views: u64,
    note: Option<String>,
}

fn post() -> Value {
    json!({
        "title": "Hello", "body": "Text", "qty": 1, "price": 9.5, "slug": "hello", "email": "a@b.co",
        "homepage": "https://example.com", "status": "draft", "author": "Ada", "subtitle": "Sub",
        "items": [{"qty": 1}], "tags": ["rust"], "coverUrl": "x",
    })
}

#[test]
fn every_violation_of_every_field_is_collected_in_one_problem() {
    let ok: CreatePost = parse(post());
    assert!(ok.validate().is_ok());
    assert_eq!((ok.cover_url.as_str(), ok.views, ok.note), ("x", 0, None));
    let bad: CreatePost = parse(json!({
        "title": "Hi", "body": "  ", "qty": 101, "price": 0.0, "slug": "Hello World", "email": "x",
        "homepage": "ftp://x", "status": "gone", "author": null, "subtitle": "sub",
        "items": [{"qty": 1}, {"qty": 2}, {"qty": 0}], "tags": ["", "ok"], "coverUrl": "",
    }));
    let error = bad.validate().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation);
    let found: Vec<(&str, &str)> = error
        .field_errors()
        .iter()
        .map(|e| (e.field.as_str(), &*e.code))
        .collect();
    assert_eq!(
        found,
        [
            ("title", "length"),
            ("body", "non_empty"),
            ("qty", "range"),
            ("price", "range"),
            ("slug", "pattern"),
            ("email", "email"),
            ("homepage", "url"),
            ("status", "one_of"),
            ("author", "required"),
            ("subtitle", "capitalized"),
            ("items[2].qty", "range"),
            ("tags[0]", "length"),
        ]
    );
}

fn constraint(field: &'static str, f: impl FnOnce(&mut Constraint)) -> Constraint {
    let mut c = Constraint::new(field);
    f(&mut c);
    c
}

#[test]
fn constraints_state_every_rule_for_the_schema() {
    let expected = vec![
        constraint("title", |c| {
            c.min_length = Some(3);
            c.max_length = Some(120);
            c.required = true;
        }),
        constraint("body", |c| {
            c.min_length = Some(1);
            c.max_length = Some(20_000);
            c.required = true;
        }),
        constraint("qty", |c| {
            c.minimum = Some(0.0);
            c.maximum = Some(100.0);
            c.required = true;
        }),
        constraint("price", |c| {
            c.minimum = Some(0.5);
            c.required = true;
        }),
        constraint("slug", |c| {
            c.pattern = Some("^[a-z0-9-]+$");
            c.required = true;
        }),
        constraint("email", |c| {
            c.format = Some("email");
            c.required = true;
        }),
        constraint("homepage", |c| c.format = Some("uri")),
        constraint("status", |c| {
            c.one_of = Some(&["draft", "published"]);
            c.required = true;
        }),
        constraint("author", |c| c.required = true),
        constraint("subtitle", |c| c.required = true),
        constraint("items", |c| c.required = true),
        constraint("tags", |c| {
            c.max_length = Some(10);
            c.counts_items = true;
            c.required = true;
            c.items = Some(Box::new(constraint("tags", |c| {
                c.min_length = Some(1);
                c.max_length = Some(20);
            })));
        }),
        // No rules, but always present: listed so the schema can mark it required.
        constraint("coverUrl", |c| c.required = true),
    ];
    assert_eq!(CreatePost::constraints(), expected);
}

#[test]
fn constraints_of_options_patterns_and_flattened_fields() {
    let formats = Formats::constraints();
    assert_eq!(formats[1].pattern, Some("^(?:[0-9]{3})$"));
    let optional = Optional::constraints();
    let required: Vec<(&str, bool)> = optional.iter().map(|c| (c.field, c.required)).collect();
    assert_eq!(
        required,
        [("author", true), ("nick", true), ("note", false)]
    );
    assert_eq!(optional[1].min_length, Some(1));
    assert_eq!(optional[2].max_length, Some(3));

    let lists = Lists::constraints();
    assert_eq!((lists[3].field, lists[3].items.is_some()), ("grid", true));
    assert_eq!(
        lists[3]
            .items
            .as_ref()
            .unwrap()
            .items
            .as_ref()
            .unwrap()
            .maximum,
        Some(9.0)
    );
    assert_eq!(
        (lists[5].min_length, lists[5].counts_items),
        (Some(1), true)
    );

    // A flattened value's fields are listed at this level; behind an Option none is required.
    let order: Vec<(&str, bool)> = Order::constraints()
        .iter()
        .map(|c| (c.field, c.required))
        .collect();
    assert_eq!(
        order,
        [
            ("items", true),
            ("address", true),
            ("billing", false),
            ("gift", true),
            ("email", true),
            ("address", false)
        ]
    );
    let wrapper: Vec<(&str, bool)> = Wrapper::constraints()
        .iter()
        .map(|c| (c.field, c.required))
        .collect();
    assert_eq!(
        wrapper,
        [("version", true), ("email", false), ("address", false)]
    );
}

// ---------------------------------------------------------------- generics and borrowing

#[derive(Deserialize, Validate)]
struct Page<T> {
    #[validate(len(max = 2), nested)]
    items: Vec<T>,
    #[validate(range(min = 1))]
    page: u32,
}

#[derive(Deserialize, Validate)]
struct Tree<T> {
    #[validate(nested)]
    value: T,
    #[validate(len(max = 2), nested)]
    children: Vec<Tree<T>>,
}

#[derive(Validate)]
struct Named<S> {
    #[validate(len(min = 1, max = 3))]
    name: S,
    #[validate(each(len(max = 1)))]
    more: Vec<S>,
}

#[derive(Deserialize, flagstone::validation::Validate)]
struct Borrowed<'a> {
    #[validate(len(max = 10), email)]
    email: &'a str,
    #[serde(borrow)]
    #[validate(non_empty, one_of("x", "y"))]
    choice: Cow<'a, str>,
}

#[test]
fn generic_and_borrowing_structs() {
    let page: Page<Item> = parse(json!({"items": [{"qty": 1}, {"qty": 0}, {"qty": 0}], "page": 0}));
    assert_eq!(
        errors(&page),
        pairs(&[
            ("items", "length"),
            ("items[1].qty", "range"),
            ("items[2].qty", "range"),
            ("page", "range")
        ])
    );
    let page: Page<Address> = parse(json!({"items": [{"city": ""}], "page": 1}));
    assert_eq!(errors(&page), pairs(&[("items[0].city", "non_empty")]));
    assert!(Page::<Item>::constraints()[0].counts_items);

    let tree: Tree<Item> = parse(json!({
        "value": {"qty": 1},
        "children": [
            {"value": {"qty": 1}, "children": []},
            {"value": {"qty": 1}, "children": [{"value": {"qty": 0}, "children": []}]},
        ],
    }));
    assert_eq!(
        errors(&tree),
        pairs(&[("children[1].children[0].value.qty", "range")])
    );

    let named = Named {
        name: "abcd".to_owned(),
        more: vec!["a".to_owned(), "bc".to_owned()],
    };
    assert_eq!(
        errors(&named),
        pairs(&[("name", "length"), ("more[1]", "length")])
    );
    let named = Named {
        name: "ab",
        more: vec![],
    };
    assert!(errors(&named).is_empty());

    let json = r#"{"email": "a@b.co", "choice": "z"}"#;
    let borrowed: Borrowed<'_> = serde_json::from_str(json).unwrap();
    assert_eq!(errors(&borrowed), pairs(&[("choice", "one_of")]));
    let borrowed = Borrowed {
        email: "someone@example.com",
        choice: Cow::Borrowed(" "),
    };
    assert_eq!(
        errors(&borrowed),
        pairs(&[
            ("email", "length"),
            ("choice", "non_empty"),
            ("choice", "one_of")
        ])
    );
}

#[derive(Deserialize, Validate)]
struct NoRules {
    name: String,
    #[serde(default)]
    count: u32,
    maybe: Option<String>,
}

#[test]
fn a_struct_without_rules_always_passes_and_lists_its_required_fields() {
    let value: NoRules = parse(json!({"name": ""}));
    assert!(
        value.validate().is_ok()
            && value.name.is_empty()
            && value.count == 0
            && value.maybe.is_none()
    );
    let fields: Vec<(&str, bool)> = NoRules::constraints()
        .iter()
        .map(|c| (c.field, c.required))
        .collect();
    assert_eq!(fields, [("name", true)]);
}

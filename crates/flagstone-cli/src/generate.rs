//! `flagstone generate resource | service | middleware`: the files of one module, and the
//! generator-owned lists that wire it in (`mod.rs` of its folder, `routes/resources.rs`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{
    files::{Kind, Plan},
    names::Name,
    render::{MARKER, Renderer},
    spec::{Base, FieldSpec, check_all},
};

/// The API prefix the generated tests call (Flagstone's default `api.prefix`).
const API_PREFIX: &str = "/api/v1";

/// Checks that `root` is a project `flagstone new` made (it has `src/models`).
pub(crate) fn project_root(root: &Path) -> Result<(), String> {
    if root.join("Cargo.toml").is_file() && root.join("src/models").is_dir() {
        return Ok(());
    }
    Err(format!(
        "{} is not a Flagstone project made by `flagstone new` (no Cargo.toml and src/models/): run this in the project's folder, or pass --path",
        display(root)
    ))
}

fn display(path: &Path) -> String {
    match path.as_os_str().is_empty() {
        true => ".".to_owned(),
        false => path.display().to_string(),
    }
}

/// One field as the model template writes it.
#[derive(Serialize)]
struct ModelField {
    name: String,
    doc: String,
    attribute: String,
    rust_type: String,
}

/// One field as the test template uses it.
#[derive(Serialize)]
struct Sample {
    name: String,
    sample: String,
}

#[derive(Serialize)]
struct Filter {
    name: String,
    query: String,
}

/// Plans the files of resource `name` with `fields`, in the project at `root`.
pub(crate) fn resource(
    renderer: &Renderer,
    root: &Path,
    name: &str,
    specs: &[String],
) -> Result<Plan, String> {
    let name = Name::parse(name, "resource")?;
    if specs.is_empty() {
        return Err(
            "a resource needs at least one field, like `title:string:filter:sort`".to_owned(),
        );
    }
    let fields = specs
        .iter()
        .map(|s| FieldSpec::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let model = name.pascal();
    if model == "User" {
        return Err("`User` is Flagstone's account model; pick another name".to_owned());
    }
    let known = modules(&root.join("src/models"))
        .into_iter()
        .map(|m| Name::parse(&m, "model").map(|n| n.pascal()))
        .collect::<Result<Vec<_>, _>>()?;
    check_all(&fields, &model, &known)?;

    let singular = name.snake();
    let plural = name.plural();
    let hooks = format!("{model}Hooks");
    let path = format!("/{}", plural.kebab());
    let mut ref_imports: Vec<String> = fields
        .iter()
        .filter_map(FieldSpec::reference)
        .filter(|r| *r != "User" && *r != model)
        .map(str::to_owned)
        .collect();
    ref_imports.sort();
    ref_imports.dedup();
    let model_fields: Vec<ModelField> = fields.iter().map(model_field).collect();
    let indexes: Vec<&str> = fields
        .iter()
        .filter(|f| (f.filter || f.sort) && !f.unique)
        .map(|f| f.name.as_str())
        .collect();

    let input: Vec<Sample> = fields
        .iter()
        .filter(|f| f.in_input())
        .map(|f| Sample {
            name: f.name.clone(),
            sample: sample(f, 0),
        })
        .collect();
    let comparable = |f: &&FieldSpec| f.in_input() && f.in_view() && f.base != Base::DateTime;
    let checked: Vec<Sample> = fields
        .iter()
        .filter(comparable)
        .map(|f| Sample {
            name: f.name.clone(),
            sample: sample(f, 0),
        })
        .collect();
    let unseen: Vec<&str> = fields
        .iter()
        .filter(|f| !f.in_view())
        .map(|f| f.name.as_str())
        .collect();
    let patch = fields.iter().find(comparable).map(|f| Sample {
        name: f.name.clone(),
        sample: sample(f, 1),
    });
    let filter = fields
        .iter()
        .find(|f| f.filter && f.in_input() && !f.array && query_value(f).is_some())
        .and_then(|f| {
            Some(Filter {
                name: f.name.clone(),
                query: query_value(f)?,
            })
        });

    let context = minijinja::context! {
        model, hooks, path, ref_imports, indexes, singular,
        title => name.title(),
        a_title => capitalised(&with_article(&name.title())),
        plural_title => capitalised(&plural.title()),
        plural_words => plural.title(),
        collection => plural.snake(),
        fields => model_fields,
        plural => plural.snake(),
        api_path => format!("{API_PREFIX}{path}"),
        input_fields => input,
        checked_fields => checked,
        unseen_fields => unseen,
        patch, filter,
    };
    let mut plan = Plan::default();
    plan.add(
        format!("src/models/{singular}.rs"),
        renderer.render("generate/model.rs.jinja", &context)?,
        Kind::Create,
    );
    plan.add(
        format!("src/services/{singular}.rs"),
        renderer.render("generate/hooks.rs.jinja", &context)?,
        Kind::Create,
    );
    plan.add(
        format!("tests/{}.rs", plural.snake()),
        renderer.render("generate/resource_test.rs.jinja", &context)?,
        Kind::Create,
    );
    owned_mod(renderer, root, &mut plan, "models", &singular)?;
    owned_mod(renderer, root, &mut plan, "services", &singular)?;
    let mut resources = mounted_resources(root);
    if !resources.contains(&model) {
        resources.push(model);
    }
    plan.add(
        "src/routes/resources.rs",
        resources_file(renderer, &resources)?,
        Kind::Owned,
    );
    Ok(plan)
}

/// Plans `src/services/NAME.rs` and the services list.
pub(crate) fn service(renderer: &Renderer, root: &Path, name: &str) -> Result<Plan, String> {
    let name = Name::parse(name, "service")?;
    let context = minijinja::context! {
        type_name => name.pascal(),
        title => capitalised(&name.title()),
    };
    let mut plan = Plan::default();
    plan.add(
        format!("src/services/{}.rs", name.snake()),
        renderer.render("generate/service.rs.jinja", &context)?,
        Kind::Create,
    );
    owned_mod(renderer, root, &mut plan, "services", &name.snake())?;
    Ok(plan)
}

/// Plans `src/middleware/NAME.rs` and the middleware list.
pub(crate) fn middleware(renderer: &Renderer, root: &Path, name: &str) -> Result<Plan, String> {
    let name = Name::parse(name, "middleware")?;
    let context = minijinja::context! { function => name.snake() };
    let mut plan = Plan::default();
    plan.add(
        format!("src/middleware/{}.rs", name.snake()),
        renderer.render("generate/middleware.rs.jinja", &context)?,
        Kind::Create,
    );
    owned_mod(renderer, root, &mut plan, "middleware", &name.snake())?;
    Ok(plan)
}

/// Adds `src/<folder>/mod.rs`, declaring every module in the folder and `new`.
fn owned_mod(
    renderer: &Renderer,
    root: &Path,
    plan: &mut Plan,
    folder: &str,
    new: &str,
) -> Result<(), String> {
    let mut modules = modules(&root.join("src").join(folder));
    modules.push(new.to_owned());
    modules.sort();
    modules.dedup();
    plan.add(
        PathBuf::from("src").join(folder).join("mod.rs"),
        mod_file(renderer, folder, &modules)?,
        Kind::Owned,
    );
    Ok(())
}

/// `src/<folder>/mod.rs` declaring `modules`.
pub(crate) fn mod_file(
    renderer: &Renderer,
    folder: &str,
    modules: &[String],
) -> Result<String, String> {
    renderer.render(
        &format!("owned/{folder}_mod.rs.jinja"),
        minijinja::context! { marker => MARKER, modules },
    )
}

/// `src/routes/resources.rs` mounting `resources` in order.
pub(crate) fn resources_file(renderer: &Renderer, resources: &[String]) -> Result<String, String> {
    renderer.render(
        "owned/resources.rs.jinja",
        minijinja::context! { marker => MARKER, resources },
    )
}

/// The modules of a folder: its `.rs` files but `mod.rs`, and its folders with a `mod.rs`.
fn modules(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let name = path.file_name()?.to_str()?.to_owned();
            if path.is_dir() {
                path.join("mod.rs").is_file().then_some(name)
            } else {
                let stem = name.strip_suffix(".rs")?;
                (stem != "mod").then(|| stem.to_owned())
            }
        })
        .collect();
    out.sort();
    out
}

/// The resources `src/routes/resources.rs` mounts now, in order: the generator reads back
/// the lines it wrote.
fn mounted_resources(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join("src/routes/resources.rs")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let rest = line.split(".resource::<models::").nth(1)?;
            Some(rest.split('>').next()?.to_owned())
        })
        .collect()
}

/// `a book`, `an author`.
fn with_article(text: &str) -> String {
    match text.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => format!("an {text}"),
        false => format!("a {text}"),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn model_field(f: &FieldSpec) -> ModelField {
    let element = match &f.base {
        Base::String | Base::Text | Base::Enum(_) => "String".to_owned(),
        Base::Int => "i64".to_owned(),
        Base::Float => "f64".to_owned(),
        Base::Bool => "bool".to_owned(),
        Base::DateTime => "Timestamp".to_owned(),
        Base::Ref(model) => format!("Id<{model}>"),
    };
    let mut rust_type = match f.array {
        true => format!("Vec<{element}>"),
        false => element,
    };
    if f.optional {
        rust_type = format!("Option<{rust_type}>");
    }
    let mut keys: Vec<String> = Vec::new();
    if f.in_input() {
        let rule = match &f.base {
            Base::String => Some("len(max = 200)".to_owned()),
            Base::Text => Some("len(max = 20_000)".to_owned()),
            Base::Enum(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
                Some(format!("one_of({})", quoted.join(", ")))
            }
            _ => None,
        };
        if let Some(rule) = rule {
            keys.push(match f.array {
                true => format!("each({rule})"),
                false => rule,
            });
        }
    }
    match f.visibility {
        crate::spec::Visibility::Normal => {}
        crate::spec::Visibility::Hidden => keys.push("hidden".to_owned()),
        crate::spec::Visibility::ReadOnly => keys.push("read_only".to_owned()),
        crate::spec::Visibility::WriteOnly => keys.push("write_only".to_owned()),
    }
    for (set, key) in [
        (f.unique, "unique"),
        (f.filter, "filter"),
        (f.sort, "sort"),
        (f.select, "select"),
    ] {
        if set {
            keys.push(key.to_owned());
        }
    }
    let attribute = match keys.is_empty() {
        true => String::new(),
        false => format!("#[field({})]", keys.join(", ")),
    };
    let what = match &f.base {
        Base::String => "A short text".to_owned(),
        Base::Text => "A long text".to_owned(),
        Base::Int => "A whole number".to_owned(),
        Base::Float => "A number".to_owned(),
        Base::Bool => "Yes or no".to_owned(),
        Base::DateTime => "A point in time".to_owned(),
        Base::Enum(values) => format!("One of: {}", values.join(", ")),
        Base::Ref(model) => format!("The id of a {model}"),
    };
    let doc = match (f.array, f.optional) {
        (true, true) => format!("`{}`, a list (optional); each: {}.", f.name, lower(&what)),
        (true, false) => format!("`{}`, a list; each: {}.", f.name, lower(&what)),
        (false, true) => format!("`{}` (optional): {}.", f.name, lower(&what)),
        (false, false) => format!("`{}`: {}.", f.name, lower(&what)),
    };
    ModelField {
        name: f.name.clone(),
        doc,
        attribute,
        rust_type,
    }
}

fn lower(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// A valid JSON value for `f`, as Rust `json!` source; `variant` 0 or 1 gives two
/// different ones (for create and change).
fn sample(f: &FieldSpec, variant: usize) -> String {
    let element = match &f.base {
        Base::String | Base::Text => format!("\"{}-{}\"", f.name, variant + 1),
        Base::Int => (variant + 1).to_string(),
        Base::Float => format!("{}.5", variant + 1),
        Base::Bool => (variant == 0).to_string(),
        Base::DateTime => format!("\"2026-01-0{}T09:30:00Z\"", variant + 1),
        Base::Enum(values) => format!("{:?}", values[variant.min(values.len() - 1)]),
        Base::Ref(_) => format!("\"65f1c0ffee0000000000bee{variant}\""),
    };
    match f.array {
        true => format!("[{element}]"),
        false => element,
    }
}

/// The query-string form of the first sample, for fields whose filter takes it as is.
fn query_value(f: &FieldSpec) -> Option<String> {
    match f.base {
        Base::Float | Base::DateTime => None,
        _ => Some(sample(f, 0).trim_matches('"').to_owned()),
    }
}

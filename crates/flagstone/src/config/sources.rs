//! Where configuration comes from: TOML files, a `.env` file and the environment.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use figment::{
    Error, Metadata, Profile, Provider, Source,
    value::{Dict, Map, Value},
};

/// The prefix of Flagstone's environment variables.
pub(crate) const ENV_PREFIX: &str = "FLAGSTONE_";
/// Nested keys are joined with this in variable names: `FLAGSTONE_SERVER__PORT`.
pub(crate) const ENV_SPLIT: &str = "__";

const ENV_NAME: &str = "environment";
const DOTENV_NAME: &str = ".env";

/// `FLAGSTONE_*` variables as a figment provider, from the process environment or from a
/// `.env` file. Values stay strings; the typed readers parse them leniently, so a numeric
/// looking secret keeps every character.
pub(crate) struct EnvVars {
    vars: BTreeMap<String, String>,
    file: Option<PathBuf>,
}

impl EnvVars {
    pub(crate) fn environment(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            vars: prefixed(vars),
            file: None,
        }
    }

    pub(crate) fn dotenv(path: &Path, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            vars: prefixed(vars),
            file: Some(path.to_owned()),
        }
    }

    /// The value of `FLAGSTONE_<name>`, e.g. `get("PROFILE")`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

fn prefixed(vars: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, String> {
    vars.into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(ENV_PREFIX)?.to_owned(), v)))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        let (name, source) = match &self.file {
            Some(path) => (DOTENV_NAME, Some(Source::File(path.clone()))),
            None => (ENV_NAME, None),
        };
        let mut metadata = Metadata::named(name).interpolater(|_: &Profile, keys: &[&str]| {
            let keys: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
            format!("{ENV_PREFIX}{}", keys.join(ENV_SPLIT))
        });
        metadata.source = source;
        metadata
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut dict = Dict::new();
        for (name, value) in &self.vars {
            if name == "PROFILE" {
                continue;
            }
            let name = name.to_ascii_lowercase();
            let keys: Vec<&str> = name.split(ENV_SPLIT).collect();
            insert(&mut dict, &keys, Value::from(value.clone()));
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn insert(dict: &mut Dict, keys: &[&str], value: Value) {
    match keys {
        [] => {}
        [last] => {
            dict.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry((*first).to_owned())
                .or_insert_with(|| Dict::new().into());
            if entry.as_dict().is_none() {
                *entry = Dict::new().into();
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// Says where the value at `key` came from, the way a user would look for it:
/// `FLAGSTONE_SERVER__PORT`, `FLAGSTONE_SERVER__PORT in .env`, `flagstone.toml`.
pub(crate) fn describe(metadata: Option<&Metadata>, key: &str) -> String {
    let Some(metadata) = metadata else {
        return "default".to_owned();
    };
    let keys: Vec<&str> = key.split('.').collect();
    match (&*metadata.name, &metadata.source) {
        (ENV_NAME, _) => metadata.interpolate(&Profile::Default, &keys),
        (DOTENV_NAME, Some(Source::File(path))) => {
            format!(
                "{} in {}",
                metadata.interpolate(&Profile::Default, &keys),
                file_name(path)
            )
        }
        (_, Some(Source::File(path))) => file_name(path),
        (name, _) => name.to_owned(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

//! `[files]`: where uploads are stored and what is accepted.

use std::{collections::BTreeMap, time::Duration};

use figment::value::Value;
use schemars::JsonSchema;

use super::types;
use crate::config::{
    Profile, Secret,
    read::{self, Kind, Reader},
};

/// `[files]`: where uploaded files are stored and what is accepted (see [`crate::files`]).
#[derive(Clone, Debug, JsonSchema)]
#[non_exhaustive]
pub struct FilesConfig {
    /// Where files go: `file://PATH` (a directory; the default, `file://data/uploads`),
    /// `memory://` (the test profile's default), `s3://BUCKET` (cargo feature `files-s3`),
    /// `gs://BUCKET` (`files-gcs`) or `az://CONTAINER` (`files-azure`).
    pub url: String,
    /// Largest accepted file (default `10MiB`); larger uploads get 413.
    pub max_size: u64,
    /// Content types accepted, each checked against the file's first bytes (default PNG,
    /// JPEG, GIF, WebP and PDF); others get 415. See [`crate::files::KNOWN_TYPES`].
    pub allowed_types: Vec<String>,
    /// Folder of the generated object keys (default `uploads`): lowercase letters, digits,
    /// `-`, `_`, and `/` between segments.
    pub prefix: String,
    /// Lifetime of presigned download URLs (default `15m`, at most `7d`).
    #[schemars(with = "String")]
    pub presign_ttl: Duration,
    /// Backend options passed to the `object_store` builder, such as `endpoint`, `region`,
    /// `access_key_id`, `secret_access_key` and `allow_http` for S3; unset ones come from
    /// the usual environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    pub options: BTreeMap<String, Secret>,
}

impl FilesConfig {
    pub(crate) fn defaults(profile: Profile) -> Self {
        Self {
            url: match profile {
                Profile::Test => "memory://".to_owned(),
                _ => "file://data/uploads".to_owned(),
            },
            max_size: 10 << 20,
            allowed_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
            ]
            .map(str::to_owned)
            .to_vec(),
            prefix: "uploads".to_owned(),
            presign_ttl: Duration::from_secs(15 * 60),
            options: BTreeMap::new(),
        }
    }
}

impl Default for FilesConfig {
    /// In memory, with the other defaults.
    fn default() -> Self {
        Self::defaults(Profile::Test)
    }
}

const OPTIONS: Kind<BTreeMap<String, Secret>> = Kind {
    expected: "a table of strings, such as { endpoint = \"http://127.0.0.1:9000\" }",
    parse: |value| match value {
        Value::Dict(_, dict) => dict
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(_, s) => s.clone(),
                    Value::Num(..) | Value::Bool(..) => read::show(v),
                    _ => return None,
                };
                Some((k.clone(), Secret::new(v)))
            })
            .collect(),
        _ => None,
    },
    secret: true,
};

/// Reads `[files]`.
pub(crate) fn read(r: &mut Reader<'_>, d: FilesConfig) -> FilesConfig {
    FilesConfig {
        url: r.get("files.url", d.url, &read::STRING),
        max_size: r.get("files.max_size", d.max_size, &read::SIZE),
        allowed_types: r.get("files.allowed_types", d.allowed_types, &read::STRINGS),
        prefix: r.get("files.prefix", d.prefix, &read::STRING),
        presign_ttl: r.get("files.presign_ttl", d.presign_ttl, &read::DURATION),
        options: r.get("files.options", d.options, &OPTIONS),
    }
}

/// The schemes this build can store files at, with the cargo feature each needs.
const SCHEMES: &[(&str, Option<&str>, bool)] = &[
    ("file://", None, true),
    ("memory://", None, true),
    ("s3://", Some("files-s3"), cfg!(feature = "files-s3")),
    ("gs://", Some("files-gcs"), cfg!(feature = "files-gcs")),
    ("az://", Some("files-azure"), cfg!(feature = "files-azure")),
];

/// Checks `[files]`.
pub(crate) fn check(c: &FilesConfig, r: &mut Reader<'_>) {
    match SCHEMES.iter().find(|(s, ..)| c.url.starts_with(s)) {
        None => r.problem(
            "files.url",
            "must start with file://, memory://, s3://, gs:// or az://",
        ),
        Some((scheme, Some(feature), false)) => r.problem(
            "files.url",
            format!("{scheme} needs flagstone's cargo feature `{feature}`"),
        ),
        Some((scheme, ..)) if *scheme != "memory://" && c.url.len() == scheme.len() => r.problem(
            "files.url",
            format!("names no directory, bucket or container after {scheme}"),
        ),
        Some(_) => {}
    }
    if c.max_size == 0 {
        r.problem("files.max_size", "must be greater than 0");
    }
    if c.allowed_types.is_empty() {
        r.problem("files.allowed_types", "must list at least one content type");
    }
    for t in &c.allowed_types {
        if types::by_mime(t).is_none() {
            let known: Vec<&str> = types::KNOWN_TYPES.iter().map(|k| k.mime).collect();
            r.problem(
                "files.allowed_types",
                format!(
                    "{t:?} is not a type recognised from its bytes; known ones: {}",
                    known.join(", ")
                ),
            );
        }
    }
    if !super::key::valid_prefix(&c.prefix) {
        r.problem(
            "files.prefix",
            format!(
                "must be segments of lowercase letters, digits, `-` and `_` joined by `/`, got {:?}",
                c.prefix
            ),
        );
    }
    if c.presign_ttl.is_zero() || c.presign_ttl > Duration::from_secs(7 * 86_400) {
        r.problem("files.presign_ttl", "must be between 1s and 7d");
    }
}

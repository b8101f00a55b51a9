//! [`FileStore`]: streams uploads into an object store and serves them back.

use std::{fmt, sync::Arc, time::Duration};

use axum::{
    body::Body,
    response::{IntoResponse, Redirect, Response},
};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderValue, header};
use object_store::{
    Attribute, Attributes, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions,
    PutPayload, WriteMultipart, memory::InMemory, path::Path,
};

use super::{FileRef, FilesConfig, key, types};
use crate::{Config, Error, ErrorKind};

/// What signs URLs: a cloud backend, or nothing in builds without one.
#[cfg(any(feature = "files-s3", feature = "files-gcs", feature = "files-azure"))]
type Signer = Arc<dyn object_store::signer::Signer>;
#[cfg(not(any(feature = "files-s3", feature = "files-gcs", feature = "files-azure")))]
type Signer = std::convert::Infallible;

#[cfg(any(feature = "files-s3", feature = "files-gcs", feature = "files-azure"))]
async fn sign(signer: &Signer, path: &Path, ttl: Duration) -> Result<String, Error> {
    let url = signer
        .signed_url(http::Method::GET, path, ttl)
        .await
        .map_err(storage_error)?;
    Ok(url.to_string())
}

#[cfg(not(any(feature = "files-s3", feature = "files-gcs", feature = "files-azure")))]
async fn sign(signer: &Signer, _: &Path, _: Duration) -> Result<String, Error> {
    match *signer {}
}

/// Parts in flight at once while a large upload streams to the backend.
const MAX_PARTS_IN_FLIGHT: usize = 2;

/// Where uploaded files live: an [`ObjectStore`] chosen by `files.url`, the allow-list and
/// the size limit. Cheap to clone; share it with [`App::files`](crate::App::files).
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

struct Inner {
    objects: Arc<dyn ObjectStore>,
    signer: Option<Signer>,
    config: FilesConfig,
    /// Bytes per multipart part (S3 needs at least 5 MiB for all but the last).
    part_size: usize,
    /// Whether the backend stores a content type with each object.
    attributes: bool,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("backend", &self.inner.objects.to_string())
            .field("max_size", &self.inner.config.max_size)
            .field("allowed_types", &self.inner.config.allowed_types)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// Opens the backend that `[files]` in `config` names (creating the directory of a
    /// `file://` URL).
    pub async fn from_config(config: &Config) -> Result<Self, Error> {
        Self::open(config.files.clone()).await
    }

    /// Opens the backend that `config.url` names.
    pub async fn open(config: FilesConfig) -> Result<Self, Error> {
        let url = config.url.clone();
        let (objects, signer, part_size, attributes): (Arc<dyn ObjectStore>, _, _, _) =
            if url.starts_with("memory://") {
                (Arc::new(InMemory::new()), None, 1 << 20, true)
            } else if let Some(dir) = url.strip_prefix("file://") {
                let dir = std::path::PathBuf::from(dir);
                let local = tokio::task::spawn_blocking(move || {
                    std::fs::create_dir_all(&dir)?;
                    object_store::local::LocalFileSystem::new_with_prefix(&dir)
                        .map_err(std::io::Error::other)
                })
                .await
                .map_err(Error::internal)?
                .map_err(|e| Error::internal(std::io::Error::other(format!("files.url: {e}"))))?;
                (Arc::new(local), None, 1 << 20, false)
            } else {
                let (objects, signer) = cloud(&config)?;
                (objects, Some(signer), 5 << 20, true)
            };
        Ok(Self {
            inner: Arc::new(Inner {
                objects,
                signer,
                config,
                part_size,
                attributes,
            }),
        })
    }

    /// An in-memory store with the default settings: for tests.
    pub fn memory() -> Self {
        Self::memory_with(FilesConfig::default())
    }

    /// An in-memory store with `config`'s limits (its URL is ignored): for tests.
    pub fn memory_with(config: FilesConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                objects: Arc::new(InMemory::new()),
                signer: None,
                config,
                part_size: 1 << 20,
                attributes: true,
            }),
        }
    }

    /// The same storage, accepting only those of `types` that `files.allowed_types` also
    /// accepts, such as images for a cover picture.
    pub fn only(&self, types: &[&str]) -> Self {
        let mut config = self.inner.config.clone();
        config
            .allowed_types
            .retain(|allowed| types.iter().any(|t| t.eq_ignore_ascii_case(allowed)));
        Self {
            inner: Arc::new(Inner {
                objects: self.inner.objects.clone(),
                #[allow(clippy::clone_on_copy)] // `Option<Infallible>` without a cloud feature
                signer: self.inner.signer.clone(),
                config,
                part_size: self.inner.part_size,
                attributes: self.inner.attributes,
            }),
        }
    }

    /// Streams the file in `request` into this store, like the [`Upload`](super::Upload)
    /// extractor does with the app's store. A handler that takes the `Request` last can
    /// check permissions first and only then read the body.
    pub async fn upload(&self, request: axum::extract::Request) -> Result<super::Upload, Error> {
        super::upload::extract(self, request).await
    }

    /// The settings.
    pub fn config(&self) -> &FilesConfig {
        &self.inner.config
    }

    /// The underlying object store, for what this type does not offer.
    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.objects
    }

    /// Stores `body` under a new key, streaming: the type is decided from the first bytes
    /// (415 when it is not allowed or contradicts `declared`), more than `files.max_size`
    /// bytes is 413 (and nothing is kept), and size and SHA-256 are computed on the way.
    pub async fn put_stream<S>(&self, mut body: S, declared: Option<&str>) -> Result<FileRef, Error>
    where
        S: Stream<Item = Result<Bytes, Error>> + Unpin + Send,
    {
        let config = &self.inner.config;
        let mut meter = Meter::new(config.max_size);
        let mut buffer = BytesMut::new();
        let mut ended = false;
        while buffer.len() < types::SNIFF_LEN {
            match body.next().await {
                Some(chunk) => buffer.extend_from_slice(&meter.take(chunk?)?),
                None => {
                    ended = true;
                    break;
                }
            }
        }
        if buffer.is_empty() {
            return Err(Error::bad_request("the file is empty").with_code("empty_file"));
        }
        let known = types::check(&buffer, ended, declared, &config.allowed_types)?;
        let key = key::generate(&config.prefix, known)?;
        let path = Path::from(key.as_str());
        let attributes = match self.inner.attributes {
            true => Attributes::from_iter([(Attribute::ContentType, known.mime)]),
            false => Attributes::new(),
        };
        let part_size = self.inner.part_size;
        while !ended && buffer.len() <= part_size {
            match body.next().await {
                Some(chunk) => buffer.extend_from_slice(&meter.take(chunk?)?),
                None => ended = true,
            }
        }
        if ended {
            let options = PutOptions {
                attributes,
                ..PutOptions::default()
            };
            let payload = PutPayload::from(buffer.freeze());
            self.inner
                .objects
                .put_opts(&path, payload, options)
                .await
                .map_err(storage_error)?;
        } else {
            let options = PutMultipartOptions {
                attributes,
                ..PutMultipartOptions::default()
            };
            let upload = self
                .inner
                .objects
                .put_multipart_opts(&path, options)
                .await
                .map_err(storage_error)?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
            writer.put(buffer.freeze());
            let streamed = async {
                loop {
                    writer
                        .wait_for_capacity(MAX_PARTS_IN_FLIGHT)
                        .await
                        .map_err(storage_error)?;
                    match body.next().await {
                        Some(chunk) => writer.put(meter.take(chunk?)?),
                        None => return Ok::<_, Error>(()),
                    }
                }
            }
            .await;
            match streamed {
                Ok(()) => {
                    writer.finish().await.map_err(storage_error)?;
                }
                Err(error) => {
                    if let Err(e) = writer.abort().await {
                        tracing::warn!(error = %e, key, "could not abort a failed upload");
                    }
                    return Err(error);
                }
            }
        }
        Ok(FileRef {
            key,
            size: meter.size,
            content_type: known.mime.to_owned(),
            sha256: meter.finish(),
        })
    }

    /// Stores `bytes` (checked like [`FileStore::put_stream`]).
    pub async fn put_bytes(
        &self,
        bytes: impl Into<Bytes>,
        declared: Option<&str>,
    ) -> Result<FileRef, Error> {
        let chunk: Result<Bytes, Error> = Ok(bytes.into());
        self.put_stream(futures_util::stream::iter([chunk]), declared)
            .await
    }

    /// The stored size of `key`; 404 when there is no such file.
    pub async fn size(&self, key: &str) -> Result<u64, Error> {
        let path = parse(key)?.0;
        let meta = self
            .inner
            .objects
            .head(&path)
            .await
            .map_err(storage_error)?;
        Ok(meta.size)
    }

    /// Streams the file at `key` as a response with its content type and length; 404 when
    /// there is no such file. Images and PDFs are shown inline, other types downloaded.
    pub async fn download(&self, key: &str) -> Result<Response, Error> {
        let (path, known) = parse(key)?;
        let result = self.inner.objects.get(&path).await.map_err(storage_error)?;
        let size = result.meta.size;
        let stream = result
            .into_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other));
        let disposition = match known.mime.starts_with("image/") || known.ext == "pdf" {
            true => "inline",
            false => "attachment",
        };
        let mut response = Body::from_stream(stream).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(known.mime));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static(disposition),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Ok(response)
    }

    /// A URL that lets anyone holding it `GET` the file at `key` straight from the backend
    /// until `ttl` (default `files.presign_ttl`) passes. `None` when the backend cannot sign
    /// URLs (the local filesystem and memory): stream with [`FileStore::download`] instead.
    /// 404 when there is no such file.
    pub async fn presigned_url(
        &self,
        key: &str,
        ttl: Option<Duration>,
    ) -> Result<Option<String>, Error> {
        let (path, _) = parse(key)?;
        let Some(signer) = &self.inner.signer else {
            return Ok(None);
        };
        self.inner
            .objects
            .head(&path)
            .await
            .map_err(storage_error)?;
        let ttl = ttl.unwrap_or(self.inner.config.presign_ttl);
        sign(signer, &path, ttl).await.map(Some)
    }

    /// A `307` to a presigned URL where the backend signs them, else the file itself.
    pub async fn serve(&self, key: &str) -> Result<Response, Error> {
        match self.presigned_url(key, None).await? {
            Some(url) => Ok(Redirect::temporary(&url).into_response()),
            None => self.download(key).await,
        }
    }

    /// Deletes the file at `key`; 404 when there is no such file.
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        let (path, _) = parse(key)?;
        self.inner
            .objects
            .head(&path)
            .await
            .map_err(storage_error)?;
        self.inner
            .objects
            .delete(&path)
            .await
            .map_err(storage_error)
    }
}

/// Counts and hashes the bytes going by, refusing more than `max`.
struct Meter {
    max: u64,
    size: u64,
    hasher: ring::digest::Context,
}

impl Meter {
    fn new(max: u64) -> Self {
        Self {
            max,
            size: 0,
            hasher: ring::digest::Context::new(&ring::digest::SHA256),
        }
    }

    fn take(&mut self, chunk: Bytes) -> Result<Bytes, Error> {
        self.size += chunk.len() as u64;
        if self.size > self.max {
            return Err(too_large(self.max));
        }
        self.hasher.update(&chunk);
        Ok(chunk)
    }

    fn finish(self) -> String {
        crate::hex::encode(self.hasher.finish().as_ref())
    }
}

/// The 413 for a file over `max` bytes.
pub(crate) fn too_large(max: u64) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("the file is larger than the limit of {max} bytes"),
    )
    .with_code("file_too_large")
}

/// A key from a client, checked; anything this module did not generate is 404.
fn parse(key: &str) -> Result<(Path, &'static types::KnownType), Error> {
    let unknown = || Error::not_found("no file with this key").with_code("file_not_found");
    let known = key::parse(key).ok_or_else(unknown)?;
    let path = Path::parse(key).map_err(|_| unknown())?;
    Ok((path, known))
}

fn storage_error(error: object_store::Error) -> Error {
    match error {
        object_store::Error::NotFound { .. } => {
            Error::not_found("no file with this key").with_code("file_not_found")
        }
        other => Error::unavailable("the file storage failed; try again later", 5)
            .with_code("file_storage_unavailable")
            .with_source(other),
    }
}

/// The backend of an `s3://`, `gs://` or `az://` URL, and its URL signer.
#[allow(clippy::type_complexity)]
fn cloud(config: &FilesConfig) -> Result<(Arc<dyn ObjectStore>, Signer), Error> {
    let bad = |key: &str, detail: String| {
        Error::internal(std::io::Error::other(format!("files.{key}: {detail}")))
    };
    #[cfg(any(feature = "files-s3", feature = "files-gcs", feature = "files-azure"))]
    let _ = rustls::crypto::ring::default_provider().install_default();
    #[allow(unused_macros)] // without a cloud feature
    macro_rules! build {
        ($builder:ty, $key:ty) => {{
            let mut builder = <$builder>::from_env().with_url(config.url.as_str());
            for (name, value) in &config.options {
                let key: $key = name
                    .parse()
                    .map_err(|e| bad(&format!("options.{name}"), format!("{e}")))?;
                builder = builder.with_config(key, value.expose());
            }
            let store = Arc::new(builder.build().map_err(|e| bad("url", e.to_string()))?);
            Ok((store.clone() as Arc<dyn ObjectStore>, store as Signer))
        }};
    }
    #[cfg(feature = "files-s3")]
    if config.url.starts_with("s3://") {
        return build!(
            object_store::aws::AmazonS3Builder,
            object_store::aws::AmazonS3ConfigKey
        );
    }
    #[cfg(feature = "files-gcs")]
    if config.url.starts_with("gs://") {
        return build!(
            object_store::gcp::GoogleCloudStorageBuilder,
            object_store::gcp::GoogleConfigKey
        );
    }
    #[cfg(feature = "files-azure")]
    if config.url.starts_with("az://") {
        return build!(
            object_store::azure::MicrosoftAzureBuilder,
            object_store::azure::AzureConfigKey
        );
    }
    Err(bad(
        "url",
        format!(
            "{:?} needs a backend this build does not have (features files-s3, files-gcs, files-azure)",
            config.url
        ),
    ))
}

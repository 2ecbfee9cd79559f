//! A HiPS survey opened from a local folder or a `file://` URL: its properties, its coverage
//! (`Moc.fits`) and its tiles.

use crate::cache::{DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES, DiskCache, MemoryCache, default_cache_dir};
use crate::decode::{self, DecodeError, TileImage};
use crate::properties::{HipsProperties, PropertiesError};
use crate::tile::{TileFormat, allsky_path, tile_path};
use skyglass_sky::{Cell, Moc, SpaceMoc};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}: no such HiPS folder")]
    NotFound(String),
    #[error("{location}: no `properties` file, so not a HiPS folder")]
    NoProperties { location: String },
    #[error("{location}: {source}")]
    Properties { location: String, source: PropertiesError },
    #[error("{location}: {source}")]
    Io { location: String, source: std::io::Error },
    #[error("{0}: HiPS are opened from folders, file://, http:// or https:// URLs")]
    UnsupportedScheme(String),
    #[error("cannot reach {location}: {reason}")]
    Network { location: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot fetch {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("{path}: {source}")]
    Decode { path: String, source: DecodeError },
}

/// Files of a survey built into the program: (path relative to the HiPS root, contents).
pub type EmbeddedFiles = &'static [(&'static str, &'static [u8])];

enum Source {
    Folder(PathBuf),
    Embedded(EmbeddedFiles),
    Http(Box<HttpSource>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Folder(path) => write!(f, "Folder({})", path.display()),
            Source::Embedded(files) => write!(f, "Embedded({} files)", files.len()),
            Source::Http(http) => write!(f, "Http({})", http.base),
        }
    }
}

/// How surveys on HTTP servers are fetched and cached.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    /// The disk cache folder; `None` for no disk cache.
    pub disk_cache: Option<PathBuf>,
    pub disk_cache_bytes: u64,
    pub memory_cache_bytes: usize,
    /// Further tries after a failure that may pass (no connection, time-out, 5xx, 429).
    pub retries: u32,
    /// The first wait before a retry; it doubles each time.
    pub backoff: Duration,
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            disk_cache: default_cache_dir(),
            disk_cache_bytes: DEFAULT_DISK_BYTES,
            memory_cache_bytes: DEFAULT_MEMORY_BYTES,
            retries: 2,
            backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(20),
        }
    }
}

struct HttpSource {
    base: String,
    client: reqwest::blocking::Client,
    /// This survey's folder in the cache, named after its URL.
    cache_prefix: String,
    disk: Option<Arc<DiskCache>>,
    memory: MemoryCache,
    options: FetchOptions,
}

enum Fetch {
    Found(Vec<u8>),
    Absent,
}

impl HttpSource {
    fn new(base: &str, options: &FetchOptions) -> Result<HttpSource, String> {
        let client = reqwest::blocking::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Skyglass/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| error.to_string())?;
        let base = base.trim_end_matches('/').to_owned();
        let cache_prefix = base
            .split_once("://")
            .map_or(base.as_str(), |(_, rest)| rest)
            .split('/')
            .filter(|part| !part.is_empty())
            .map(|part| {
                part.chars()
                    .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
                    .collect::<String>()
            })
            .map(|part| if part == "." || part == ".." { "_".to_owned() } else { part })
            .collect::<Vec<_>>()
            .join("/");
        let disk =
            options.disk_cache.as_ref().map(|root| Arc::new(DiskCache::new(root.clone(), options.disk_cache_bytes)));
        Ok(HttpSource {
            base,
            client,
            cache_prefix,
            disk,
            memory: MemoryCache::new(options.memory_cache_bytes),
            options: options.clone(),
        })
    }

    /// A file of the survey: memory, then disk, then the server (whose answer is cached).
    fn read(&self, relative: &str) -> Result<Option<Vec<u8>>, TileError> {
        let key = format!("{}/{relative}", self.cache_prefix);
        if let Some(bytes) = self.memory.get(&key) {
            return Ok(Some(bytes.to_vec()));
        }
        if let Some(bytes) = self.disk.as_ref().and_then(|disk| disk.get(&key)) {
            self.memory.put(&key, Arc::new(bytes.clone()));
            return Ok(Some(bytes));
        }
        let url = format!("{}/{relative}", self.base);
        match self.fetch(&url)? {
            Fetch::Found(bytes) => {
                if let Some(disk) = &self.disk {
                    disk.put(&key, &bytes);
                }
                self.memory.put(&key, Arc::new(bytes.clone()));
                Ok(Some(bytes))
            }
            Fetch::Absent => Ok(None),
        }
    }

    fn fetch(&self, url: &str) -> Result<Fetch, TileError> {
        let mut wait = self.options.backoff;
        let mut attempt = 0;
        loop {
            let outcome = self.client.get(url).send().and_then(|response| {
                let status = response.status();
                if status.is_success() {
                    response.bytes().map(|bytes| Ok(Fetch::Found(bytes.to_vec())))
                } else {
                    Ok(Err(status))
                }
            });
            let retry_reason = match outcome {
                Ok(Ok(found)) => return Ok(found),
                // A tile the survey does not have.
                Ok(Err(status)) if status.as_u16() == 404 || status.as_u16() == 410 || status.as_u16() == 403 => {
                    return Ok(Fetch::Absent);
                }
                Ok(Err(status)) if status.is_server_error() || status.as_u16() == 429 => format!("HTTP {status}"),
                Ok(Err(status)) => {
                    return Err(TileError::Network { url: url.to_owned(), reason: format!("HTTP {status}") });
                }
                Err(error) => error_chain(&error),
            };
            if attempt >= self.options.retries {
                return Err(TileError::Network { url: url.to_owned(), reason: retry_reason });
            }
            attempt += 1;
            std::thread::sleep(wait);
            wait *= 2;
        }
    }
}

/// The innermost causes of an error, which hold the useful part ("connection refused"),
/// without the outer layers that repeat the URL.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    // reqwest's outer message names the URL, which the caller's message already does.
    if parts.len() > 1 && parts[0].starts_with("error sending request") {
        parts.remove(0);
    }
    parts.dedup();
    parts.join(": ")
}

/// An opened survey. Reading tiles is synchronous; callers put it on a worker thread.
#[derive(Debug)]
pub struct HipsSurvey {
    location: String,
    source: Source,
    properties: HipsProperties,
    coverage: Option<SpaceMoc>,
}

impl HipsSurvey {
    /// Opens a survey from a folder path, a `file://` URL or an `http(s)://` URL (cached on
    /// disk in the platform's cache folder).
    pub fn open(location: &str) -> Result<HipsSurvey, OpenError> {
        HipsSurvey::open_with(location, &FetchOptions::default())
    }

    /// [`HipsSurvey::open`] with explicit fetch and cache settings for HTTP surveys.
    pub fn open_with(location: &str, options: &FetchOptions) -> Result<HipsSurvey, OpenError> {
        let lower = location.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return HipsSurvey::open_http(location, options);
        }
        let root = local_root(location)?;
        if !root.is_dir() {
            return Err(OpenError::NotFound(location.to_owned()));
        }
        let text = match std::fs::read(root.join("properties")) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Err(OpenError::NoProperties { location: location.to_owned() });
            }
            Err(source) => return Err(OpenError::Io { location: location.to_owned(), source }),
        };
        let properties = HipsProperties::parse(&text)
            .map_err(|source| OpenError::Properties { location: location.to_owned(), source })?;
        let mut survey =
            HipsSurvey { location: location.to_owned(), source: Source::Folder(root), properties, coverage: None };
        survey.read_coverage();
        Ok(survey)
    }

    fn open_http(location: &str, options: &FetchOptions) -> Result<HipsSurvey, OpenError> {
        let network = |reason: String| OpenError::Network { location: location.to_owned(), reason };
        let http = HttpSource::new(location, options).map_err(network)?;
        // The properties come through the cache too: a survey seen once opens offline.
        let text = match http.read("properties") {
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(None) => return Err(OpenError::NoProperties { location: location.to_owned() }),
            Err(TileError::Network { reason, .. }) => return Err(network(reason)),
            Err(error) => return Err(network(error.to_string())),
        };
        let properties = HipsProperties::parse(&text)
            .map_err(|source| OpenError::Properties { location: location.to_owned(), source })?;
        let mut survey = HipsSurvey {
            location: location.to_owned(),
            source: Source::Http(Box::new(http)),
            properties,
            coverage: None,
        };
        survey.read_coverage();
        Ok(survey)
    }

    /// A survey whose files are built into the program (the offline sky). `location` names it
    /// in messages.
    pub fn embedded(location: &str, files: EmbeddedFiles) -> Result<HipsSurvey, OpenError> {
        let Some((_, bytes)) = files.iter().find(|(path, _)| *path == "properties") else {
            return Err(OpenError::NoProperties { location: location.to_owned() });
        };
        let properties = HipsProperties::parse(&String::from_utf8_lossy(bytes))
            .map_err(|source| OpenError::Properties { location: location.to_owned(), source })?;
        let mut survey =
            HipsSurvey { location: location.to_owned(), source: Source::Embedded(files), properties, coverage: None };
        survey.read_coverage();
        Ok(survey)
    }

    /// A missing or unreadable MOC only costs requests for tiles that do not exist.
    fn read_coverage(&mut self) {
        self.coverage = match self.read_file("Moc.fits") {
            Ok(Some(bytes)) => match Moc::from_fits(&bytes) {
                Ok(Moc::Space(moc)) => Some(moc),
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!("{}/Moc.fits ignored: {error}", self.location);
                    None
                }
            },
            _ => None,
        };
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn properties(&self) -> &HipsProperties {
        &self.properties
    }

    /// Whether the survey may have a tile at this cell (always true without a MOC).
    pub fn covers(&self, cell: Cell) -> bool {
        self.coverage.as_ref().is_none_or(|moc| moc.intersects_cell(cell))
    }

    /// The bytes of a tile; `None` when the survey has no such tile.
    pub fn tile_bytes(&self, order: u8, index: u64, format: TileFormat) -> Result<Option<Vec<u8>>, TileError> {
        if order > self.properties.max_order || Cell::new(order, index).is_ok_and(|cell| !self.covers(cell)) {
            return Ok(None);
        }
        self.read_file(&tile_path(order, index, format))
    }

    /// A decoded tile; `None` when the survey has no such tile.
    pub fn read_tile(&self, order: u8, index: u64, format: TileFormat) -> Result<Option<TileImage>, TileError> {
        let path = tile_path(order, index, format);
        let Some(bytes) = self.tile_bytes(order, index, format)? else { return Ok(None) };
        decode::decode(&bytes, format).map(Some).map_err(|source| TileError::Decode { path, source })
    }

    /// The tiles of the deepest Allsky image (order 3 down to 0) as `(order, tiles)`; `None`
    /// when the survey has none. Only colour formats: FITS Allsky files are not read yet.
    pub fn read_allsky(&self, format: TileFormat) -> Result<Option<(u8, Vec<TileImage>)>, TileError> {
        if format.is_values() {
            return Ok(None);
        }
        for order in (0..=self.properties.max_order.min(3)).rev() {
            let path = allsky_path(order, format);
            let Some(bytes) = self.read_file(&path)? else { continue };
            let image =
                decode::decode(&bytes, format).map_err(|source| TileError::Decode { path: path.clone(), source })?;
            let tiles = decode::split_allsky(&image, order).map_err(|source| TileError::Decode { path, source })?;
            return Ok(Some((order, tiles)));
        }
        Ok(None)
    }

    fn read_file(&self, relative: &str) -> Result<Option<Vec<u8>>, TileError> {
        let root = match &self.source {
            Source::Folder(root) => root,
            Source::Embedded(files) => {
                return Ok(files.iter().find(|(path, _)| *path == relative).map(|(_, bytes)| bytes.to_vec()));
            }
            Source::Http(http) => return http.read(relative),
        };
        match std::fs::read(root.join(relative)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TileError::Io { path: format!("{}/{relative}", self.location), source }),
        }
    }
}

fn local_root(location: &str) -> Result<PathBuf, OpenError> {
    if let Some(path) = location.strip_prefix("file://") {
        // file:///abs/path and file://localhost/abs/path name the same folder.
        let path = path.strip_prefix("localhost").unwrap_or(path);
        return Ok(PathBuf::from(percent_decode(path)));
    }
    if location.contains("://") {
        return Err(OpenError::UnsupportedScheme(location.to_owned()));
    }
    Ok(Path::new(location).to_path_buf())
}

/// `%20` and friends in file URLs.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

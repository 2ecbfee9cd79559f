//! A HiPS survey opened from a local folder or a `file://` URL: its properties, its coverage
//! (`Moc.fits`) and its tiles.

use crate::decode::{self, DecodeError, TileImage};
use crate::properties::{HipsProperties, PropertiesError};
use crate::tile::{TileFormat, allsky_path, tile_path};
use skyglass_sky::{Cell, Moc, SpaceMoc};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

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
    #[error("{0}: only local folders and file:// URLs can be opened so far")]
    UnsupportedScheme(String),
}

#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Decode { path: String, source: DecodeError },
}

/// Files of a survey built into the program: (path relative to the HiPS root, contents).
pub type EmbeddedFiles = &'static [(&'static str, &'static [u8])];

#[derive(Debug)]
enum Source {
    Folder(PathBuf),
    Embedded(EmbeddedFiles),
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
    /// Opens a survey from a folder path or a `file://` URL.
    pub fn open(location: &str) -> Result<HipsSurvey, OpenError> {
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
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) =
                (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

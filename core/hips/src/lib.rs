//! HiPS (Hierarchical Progressive Surveys, IVOA HiPS 1.0) for Skyglass.
//!
//! - [`properties`] reads a survey's `properties` file, old and new keywords;
//! - [`tile`] names tile formats and tile paths;
//! - [`decode`] turns tile files into pixels (colour or float values), all in one layout;
//! - [`survey`] opens a survey from a folder, a `file://` or `http(s)://` URL, or files built
//!   into the program, and reads its tiles;
//! - [`list`] reads HiPS lists and names the well-known surveys;
//! - [`cache`] keeps fetched files on disk (LRU, size-limited) and in memory.
//!
//! Conventions, stated once: tiles are HEALPix NESTED cells of the survey's frame. In a
//! decoded [`TileImage`], row `r` and column `c` hold the pixel at offsets
//! `dx ∈ [r/w, (r+1)/w)`, `dy ∈ [c/w, (c+1)/w)` within the cell, where `dx` runs from the
//! cell's south corner to its east corner and `dy` from the south corner to its west corner
//! (the offsets of `cdshealpix` and `astropy_healpix`).

pub mod cache;
pub mod decode;
pub mod list;
pub mod properties;
pub mod survey;
pub mod tile;

pub use decode::{DecodeError, TileImage, TilePixels, decode, split_allsky};
pub use list::{
    DEFAULT_ONLINE_SURVEY, HipsListEntry, KNOWN_SURVEYS, KnownSurvey, parse_hips_list, parse_hips_list_json,
};
pub use properties::{HipsFrame, HipsProperties, PropertiesError};
pub use survey::{EmbeddedFiles, FetchOptions, HipsSurvey, OpenError, TileError};
pub use tile::{TileFormat, allsky_path, tile_path};

//! The HiPS `properties` file: `key = value` lines describing a survey (HiPS 1.0, §4.4).
//!
//! Real files mix the HiPS 1.0 keywords with the ones Aladin used before (`maxOrder`,
//! `format`, `coordsys`, `label`); both are read, the new ones winning.

use crate::tile::TileFormat;
use skyglass_sky::Frame;
use std::collections::BTreeMap;

/// The frame a HiPS is pixelised in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HipsFrame {
    Equatorial,
    Galactic,
    Ecliptic,
}

impl HipsFrame {
    /// The sky frame of the HEALPix grid: HiPS "equatorial" is ICRS.
    pub fn sky_frame(self) -> Frame {
        match self {
            HipsFrame::Equatorial => Frame::Icrs,
            HipsFrame::Galactic => Frame::Galactic,
            HipsFrame::Ecliptic => Frame::EclipticJ2000,
        }
    }

    fn parse(text: &str) -> Option<HipsFrame> {
        match text.trim().to_ascii_lowercase().as_str() {
            "equatorial" | "c" | "icrs" | "j2000" | "fk5" => Some(HipsFrame::Equatorial),
            "galactic" | "g" => Some(HipsFrame::Galactic),
            "ecliptic" | "e" => Some(HipsFrame::Ecliptic),
            _ => None,
        }
    }
}

/// What went wrong in a `properties` file; shown to the user as is.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PropertiesError {
    #[error("not a HiPS properties file: no `key = value` line found")]
    Empty,
    #[error("properties: missing {0} (the survey's deepest order)")]
    MissingOrder(&'static str),
    #[error("properties line {line}: {key} = {value:?}: {reason}")]
    BadValue { line: usize, key: String, value: String, reason: &'static str },
    #[error("properties: no tile format this viewer can read in {0:?} (expected jpeg, png, webp or fits)")]
    NoReadableFormat(String),
}

/// The facts about a survey that a viewer needs, plus every entry as written.
#[derive(Clone, Debug, PartialEq)]
pub struct HipsProperties {
    /// All `key = value` entries; a key given twice keeps its last value.
    pub entries: BTreeMap<String, String>,
    pub title: String,
    pub frame: HipsFrame,
    /// The deepest order with tiles.
    pub max_order: u8,
    /// The shallowest order with tiles (3 unless the survey says otherwise).
    pub min_order: u8,
    pub tile_width: u32,
    /// Tile formats on offer, in the survey's order; only the ones this viewer reads.
    pub formats: Vec<TileFormat>,
    /// Display cuts for FITS tiles (`hips_pixel_cut`).
    pub pixel_cut: Option<[f64; 2]>,
    /// The full data range of FITS tiles (`hips_data_range`).
    pub data_range: Option<[f64; 2]>,
    /// The credit line users must show (`obs_copyright`), and its link.
    pub copyright: Option<String>,
    pub copyright_url: Option<String>,
    /// Where a viewer should look first: RA, Dec (or l, b) and field of view in degrees.
    pub initial_view: Option<[f64; 3]>,
}

impl HipsProperties {
    pub fn parse(text: &str) -> Result<HipsProperties, PropertiesError> {
        let mut entries = BTreeMap::new();
        let mut lines = BTreeMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // Lines without `=` are ignored, as Aladin does; a file of nothing else is no file.
            let Some((key, value)) = line.split_once('=') else { continue };
            let key = key.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                continue;
            }
            entries.insert(key.to_owned(), value.trim().to_owned());
            lines.insert(key.to_owned(), number + 1);
        }
        if entries.is_empty() {
            return Err(PropertiesError::Empty);
        }
        let reader = Reader { entries: &entries, lines: &lines };

        let max_order = match reader.first_of(&["hips_order", "maxOrder"]) {
            Some((key, value)) => reader.order(key, value)?,
            None => return Err(PropertiesError::MissingOrder("hips_order")),
        };
        let min_order = match reader.first_of(&["hips_order_min"]) {
            Some((key, value)) => reader.order(key, value)?.min(max_order),
            None => 3.min(max_order),
        };
        let frame = match reader.first_of(&["hips_frame", "coordsys", "frame"]) {
            Some((key, value)) => HipsFrame::parse(value)
                .ok_or_else(|| reader.bad(key, value, "expected equatorial, galactic or ecliptic"))?,
            // HiPS before 1.0 had no frame keyword: those surveys are equatorial.
            None => HipsFrame::Equatorial,
        };
        let tile_width = match reader.first_of(&["hips_tile_width", "tileWidth"]) {
            Some((key, value)) => {
                let width: u32 = value.parse().map_err(|_| reader.bad(key, value, "not a whole number"))?;
                if !(1..=4096).contains(&width) || !width.is_power_of_two() {
                    return Err(reader.bad(key, value, "tile width must be a power of two up to 4096"));
                }
                width
            }
            None => 512,
        };
        let format_text = reader.first_of(&["hips_tile_format", "format"]).map(|(_, v)| v).unwrap_or("jpeg");
        let formats: Vec<TileFormat> = format_text.split_whitespace().filter_map(TileFormat::from_name).collect();
        if formats.is_empty() {
            return Err(PropertiesError::NoReadableFormat(format_text.to_owned()));
        }
        let pixel_cut = reader.pair("hips_pixel_cut")?;
        let data_range = reader.pair("hips_data_range")?;
        let title = reader
            .first_of(&["obs_title", "label", "obs_collection", "creator_did", "publisher_did"])
            .map(|(_, v)| v.to_owned())
            .unwrap_or_else(|| "untitled HiPS".to_owned());
        let copyright = reader.first_of(&["obs_copyright", "copyright"]).map(|(_, v)| v.to_owned());
        let copyright_url = reader.first_of(&["obs_copyright_url"]).map(|(_, v)| v.to_owned());
        let initial_view = match (
            reader.number("hips_initial_ra")?,
            reader.number("hips_initial_dec")?,
            reader.number("hips_initial_fov")?,
        ) {
            (Some(ra), Some(dec), fov) => Some([ra, dec, fov.unwrap_or(60.0)]),
            _ => None,
        };
        Ok(HipsProperties {
            title,
            frame,
            max_order,
            min_order,
            tile_width,
            formats,
            pixel_cut,
            data_range,
            copyright,
            copyright_url,
            initial_view,
            entries,
        })
    }

    /// The value of a key as written, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// The order of the HEALPix cells that are the tiles' pixels.
    pub fn pixel_order(&self) -> u8 {
        self.max_order + self.tile_width.trailing_zeros() as u8
    }
}

struct Reader<'a> {
    entries: &'a BTreeMap<String, String>,
    lines: &'a BTreeMap<String, usize>,
}

impl<'a> Reader<'a> {
    fn first_of(&self, keys: &[&'static str]) -> Option<(&'static str, &'a str)> {
        keys.iter().find_map(|key| self.entries.get(*key).map(|value| (*key, value.as_str())))
    }

    fn bad(&self, key: &str, value: &str, reason: &'static str) -> PropertiesError {
        PropertiesError::BadValue {
            line: self.lines.get(key).copied().unwrap_or(0),
            key: key.to_owned(),
            value: value.to_owned(),
            reason,
        }
    }

    fn order(&self, key: &str, value: &str) -> Result<u8, PropertiesError> {
        let order: u8 = value.parse().map_err(|_| self.bad(key, value, "not a whole number"))?;
        // Tiles of order 29 would have pixels deeper than HEALPix goes.
        if order > 24 {
            return Err(self.bad(key, value, "HiPS orders go from 0 to 24"));
        }
        Ok(order)
    }

    fn number(&self, key: &str) -> Result<Option<f64>, PropertiesError> {
        let Some(value) = self.entries.get(key) else { return Ok(None) };
        match value.parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(Some(number)),
            _ => Err(self.bad(key, value, "not a number")),
        }
    }

    fn pair(&self, key: &str) -> Result<Option<[f64; 2]>, PropertiesError> {
        let Some(value) = self.entries.get(key) else { return Ok(None) };
        let numbers: Vec<f64> = value.split_whitespace().filter_map(|part| part.parse().ok()).collect();
        match numbers.as_slice() {
            [low, high] if low.is_finite() && high.is_finite() => Ok(Some([*low, *high])),
            _ => Err(self.bad(key, value, "expected two numbers, low and high")),
        }
    }
}

//! Which columns hold positions and times, found the way TOPCAT finds them: by UCD first
//! (`meta.main` preferred), then by the names catalogues use.

use crate::model::meta;
use arrow_schema::{DataType, Schema};

/// The coordinate system a pair of position columns is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PositionKind {
    Equatorial,
    Galactic,
    Ecliptic,
}

/// The columns holding a table's positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionColumns {
    pub lon: usize,
    pub lat: usize,
    pub kind: PositionKind,
}

/// The best pair of position columns: equatorial before galactic before ecliptic, each by
/// UCD (with `meta.main` first, then UCD1 words), then by name.
pub fn detect_position(schema: &Schema) -> Option<PositionColumns> {
    let kinds = [
        (PositionKind::Equatorial, ("pos.eq.ra", "POS_EQ_RA"), ("pos.eq.dec", "POS_EQ_DEC"), EQUATORIAL_NAMES),
        (
            PositionKind::Galactic,
            ("pos.galactic.lon", "POS_GAL_LON"),
            ("pos.galactic.lat", "POS_GAL_LAT"),
            GALACTIC_NAMES,
        ),
        (
            PositionKind::Ecliptic,
            ("pos.ecliptic.lon", "POS_ECL_LON"),
            ("pos.ecliptic.lat", "POS_ECL_LAT"),
            ECLIPTIC_NAMES,
        ),
    ];
    for (kind, lon_ucd, lat_ucd, names) in kinds {
        let lon = by_ucd(schema, lon_ucd.0, lon_ucd.1);
        let lat = by_ucd(schema, lat_ucd.0, lat_ucd.1);
        if let (Some(lon), Some(lat)) = (lon, lat) {
            return Some(PositionColumns { lon, lat, kind });
        }
        for (lon_name, lat_name) in names {
            if let (Some(lon), Some(lat)) = (by_name(schema, lon_name), by_name(schema, lat_name)) {
                return Some(PositionColumns { lon, lat, kind });
            }
        }
    }
    None
}

/// The column of observation or event times: UCD `time.epoch` (with `meta.main` first),
/// `time.start` or `time.event`, then xtype `timestamp`, then common names.
pub fn detect_time(schema: &Schema) -> Option<usize> {
    by_ucd(schema, "time.epoch", "TIME_EPOCH")
        .or_else(|| by_ucd(schema, "time.start", "TIME_START"))
        .or_else(|| by_ucd(schema, "time.event", "TIME_EVENT"))
        .or_else(|| {
            schema
                .fields()
                .iter()
                .position(|f| f.metadata().get(meta::XTYPE).is_some_and(|x| x.eq_ignore_ascii_case("timestamp")))
        })
        .or_else(|| TIME_NAMES.iter().find_map(|name| by_name(schema, name)))
}

/// A table's proper-motion columns (μα cos δ, μδ): by UCD (`pos.pm;pos.eq.ra`, any words
/// after), then by the names catalogues use (Gaia's pmra/pmdec, Hipparcos's pmRA/pmDE, …).
pub fn detect_proper_motion(schema: &Schema) -> Option<(usize, usize)> {
    let by_ucd = |word: &str| {
        let prefix = format!("pos.pm;{word}");
        schema.fields().iter().position(|f| {
            is_number(f.data_type())
                && f.metadata().get(meta::UCD).is_some_and(|u| u.to_ascii_lowercase().starts_with(&prefix))
        })
    };
    let by_names = |names: &[&str]| names.iter().find_map(|name| by_name(schema, name));
    let pmra = by_ucd("pos.eq.ra").or_else(|| by_names(&["pmra", "pm_ra", "pmra_cosdec", "pmrac"]))?;
    let pmdec = by_ucd("pos.eq.dec").or_else(|| by_names(&["pmdec", "pmde", "pm_dec", "pmdecl"]))?;
    Some((pmra, pmdec))
}

/// The equatorial position columns among columns known by name, UCD and VOTable datatype
/// only (a TAP service's VOSI metadata, before any row is read): the same rules as
/// [`detect_position`].
pub fn detect_equatorial_by_metadata<'a>(
    columns: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> Option<(usize, usize)> {
    let fields: Vec<arrow_schema::Field> = columns
        .into_iter()
        .map(|(name, ucd, datatype)| {
            let numeric = matches!(
                datatype.to_ascii_lowercase().as_str(),
                "double"
                    | "float"
                    | "int"
                    | "long"
                    | "short"
                    | "unsignedbyte"
                    | "real"
                    | "bigint"
                    | "integer"
                    | "smallint"
            );
            let data_type = if numeric { DataType::Float64 } else { DataType::Utf8 };
            let metadata = std::collections::HashMap::from([(meta::UCD.to_owned(), ucd.to_owned())]);
            arrow_schema::Field::new(name, data_type, true).with_metadata(metadata)
        })
        .collect();
    let found = detect_position(&Schema::new(fields))?;
    (found.kind == PositionKind::Equatorial).then_some((found.lon, found.lat))
}

const EQUATORIAL_NAMES: &[(&str, &str)] = &[
    ("ra", "dec"),
    ("raj2000", "dej2000"),
    ("_raj2000", "_dej2000"),
    ("ra_icrs", "de_icrs"),
    ("ra_icrs", "dec_icrs"),
    ("ra2000", "dec2000"),
    ("radeg", "dedeg"),
    ("ra_deg", "dec_deg"),
    ("s_ra", "s_dec"),
    ("alpha", "delta"),
    ("ra", "de"),
];
const GALACTIC_NAMES: &[(&str, &str)] = &[("glon", "glat"), ("gal_l", "gal_b"), ("l", "b"), ("glong", "glat")];
const ECLIPTIC_NAMES: &[(&str, &str)] = &[("elon", "elat"), ("ecl_lon", "ecl_lat")];
// `sod` is seconds of the day (SDO/EVE), `met` a mission's elapsed time (Fermi, Swift).
const TIME_NAMES: &[&str] =
    &["time", "mjd", "jd", "bjd", "hjd", "obs_time", "date_obs", "t_min", "timestamp", "epoch", "date", "sod", "met"];

/// A numeric column whose UCD has `word` (UCD1+) or `word1` (UCD1), preferring `meta.main`.
fn by_ucd(schema: &Schema, word: &str, word1: &str) -> Option<usize> {
    let candidates: Vec<(usize, String)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| is_number(f.data_type()) || word.starts_with("time"))
        .filter_map(|(i, f)| f.metadata().get(meta::UCD).map(|u| (i, u.clone())))
        .collect();
    let words = |ucd: &str| -> Vec<String> { ucd.split(';').map(|w| w.trim().to_ascii_lowercase()).collect() };
    // The first word names the quantity; a more specific word (time.event.start) counts too.
    let word = word.to_ascii_lowercase();
    let primary = |ucd: &str| words(ucd).first().is_some_and(|w| *w == word || w.starts_with(&format!("{word}.")));
    candidates
        .iter()
        .find(|(_, ucd)| primary(ucd) && words(ucd).iter().any(|w| w == "meta.main"))
        .or_else(|| candidates.iter().find(|(_, ucd)| ucd.eq_ignore_ascii_case(&format!("{word1}_MAIN"))))
        .or_else(|| candidates.iter().find(|(_, ucd)| primary(ucd)))
        .or_else(|| candidates.iter().find(|(_, ucd)| ucd.eq_ignore_ascii_case(word1)))
        .map(|(i, _)| *i)
}

fn by_name(schema: &Schema, name: &str) -> Option<usize> {
    schema.fields().iter().position(|f| {
        f.name().eq_ignore_ascii_case(name)
            && (is_number(f.data_type()) || name.contains("date") || name == "timestamp")
    })
}

fn is_number(data_type: &DataType) -> bool {
    data_type.is_numeric()
}

/// A numeric column's values over all batches as `f64`; nulls, and every cell of a column
/// that is not numeric, are NaN.
pub fn column_f64(batches: &[arrow_array::RecordBatch], column: usize) -> Vec<f64> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    let mut values = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    for batch in batches {
        let Some(array) = (column < batch.num_columns()).then(|| batch.column(column)) else {
            values.extend(std::iter::repeat_n(f64::NAN, batch.num_rows()));
            continue;
        };
        macro_rules! extend {
            ($type:ty) => {{
                let typed = array.as_primitive::<$type>();
                values
                    .extend((0..typed.len()).map(|i| if typed.is_valid(i) { typed.value(i) as f64 } else { f64::NAN }));
            }};
        }
        match array.data_type() {
            DataType::Float64 => extend!(Float64Type),
            DataType::Float32 => extend!(Float32Type),
            DataType::Int64 => extend!(Int64Type),
            DataType::Int32 => extend!(Int32Type),
            DataType::Int16 => extend!(Int16Type),
            DataType::Int8 => extend!(Int8Type),
            DataType::UInt64 => extend!(UInt64Type),
            DataType::UInt32 => extend!(UInt32Type),
            DataType::UInt16 => extend!(UInt16Type),
            DataType::UInt8 => extend!(UInt8Type),
            DataType::Float16 => {
                let typed = array.as_primitive::<Float16Type>();
                values.extend(
                    (0..typed.len())
                        .map(|i| if typed.is_valid(i) { f64::from(typed.value(i).to_f32()) } else { f64::NAN }),
                );
            }
            _ => values.extend(std::iter::repeat_n(f64::NAN, array.len())),
        }
    }
    values
}

/// Degrees of an angle column whose unit is `unit` (degrees when none is given): radians,
/// hours (right ascensions), arcminutes and arcseconds are converted.
pub fn to_degrees(values: &mut [f64], unit: Option<&str>) {
    let factor = match unit.map(|u| u.trim().to_ascii_lowercase()).as_deref() {
        Some("rad" | "radian" | "radians") => 180.0 / std::f64::consts::PI,
        Some("h" | "hour" | "hours" | "hourangle") => 15.0,
        Some("arcmin") => 1.0 / 60.0,
        Some("arcsec") => 1.0 / 3600.0,
        Some("mas") => 1.0 / 3.6e6,
        _ => return,
    };
    for value in values {
        *value *= factor;
    }
}

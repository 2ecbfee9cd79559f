//! Positions as users type them: coordinates, or names from the offline index bundled with
//! the binary (bright stars, Messier, NGC and IC objects; see assets/CREDITS.md).

use anyhow::{Result, bail};
use skyglass_sky::{Frame, LonLat, NameIndex, ParseCoordError, parse_position};
use std::sync::OnceLock;

static NAMES: OnceLock<NameIndex> = OnceLock::new();

/// The offline name index, read on first use.
pub fn name_index() -> &'static NameIndex {
    NAMES.get_or_init(|| NameIndex::parse(include_str!("../../assets/names/names.tsv")))
}

/// Coordinates in `frame`, or an object's name (its ICRS position converted to `frame`).
/// Returns the position and, for a name, the name as the index writes it.
pub fn resolve_position(text: &str, frame: Frame) -> Result<(LonLat, Option<String>)> {
    match parse_position(text, frame) {
        Ok(position) => Ok((position, None)),
        Err(error @ ParseCoordError::ObjectName(_)) => match name_index().resolve(text) {
            Some(object) => Ok((Frame::Icrs.convert(frame, object.position), Some(object.name.clone()))),
            None => bail!("{text:?} is not in the offline name index (stars, Messier, NGC, IC) ({error})"),
        },
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_index_knows_the_famous_objects() {
        let index = name_index();
        assert!(index.len() > 30_000, "{}", index.len());
        // Positions as OpenNGC and the Bright Star Catalogue give them.
        let (m31, name) = resolve_position("M31", Frame::Icrs).unwrap();
        assert_eq!(name.as_deref(), Some("M 31"));
        assert!((m31.lon().degrees() - 10.6848).abs() < 1e-3 && (m31.lat().degrees() - 41.2691).abs() < 1e-3);
        for (query, ra, dec) in [
            ("Betelgeuse", 88.7929, 7.4071),
            ("alpha Ori", 88.7929, 7.4071),
            ("Sirius", 101.2871, -16.7161),
            ("Pleiades", 56.8692, 24.1053),
            ("NGC 1976", 83.8187, -5.3897),
            ("Andromeda Galaxy", 10.6848, 41.2691),
        ] {
            let (position, _) = resolve_position(query, Frame::Icrs).unwrap_or_else(|e| panic!("{query}: {e}"));
            let expected = LonLat::from_degrees(ra, dec).unwrap();
            assert!(position.separation(expected).degrees() < 0.01, "{query}: {position:?}");
        }
        assert!(resolve_position("Vulcan", Frame::Icrs).unwrap_err().to_string().contains("not in the offline"));
        assert!(resolve_position("10 95", Frame::Icrs).is_err());
    }
}

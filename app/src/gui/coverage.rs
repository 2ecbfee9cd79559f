//! Coverage layers: space MOCs (FITS, JSON or ASCII) drawn as filled regions with brighter
//! edges by `core/render`'s `MocLayer`; and FITS images with their WCS, drawn by its
//! `ImageLayer`.

use anyhow::{Result, bail};
use skyglass_sky::{Moc, SpaceMoc};
use std::sync::Arc;

pub struct Coverage {
    pub id: u64,
    pub name: String,
    pub moc: Arc<SpaceMoc>,
    pub colour: [f32; 4],
    pub visible: bool,
}

/// A FITS image on the sky.
pub struct SkyImage {
    pub id: u64,
    pub name: String,
    pub width: usize,
    pub height: usize,
    pub values: Arc<Vec<f32>>,
    pub wcs: skyglass_sky::ImageWcs,
    pub style: skyglass_render::ImageStyle,
    pub visible: bool,
}

impl SkyImage {
    /// The image's centre on the sky and its farthest corner from it (ICRS).
    pub fn extent(&self) -> Option<(skyglass_sky::LonLat, skyglass_sky::Angle)> {
        let (w, h) = (self.width as f64, self.height as f64);
        let icrs = |x: f64, y: f64| {
            let sky = self.wcs.pixel_to_world(x, y)?;
            Some(self.wcs.frame.convert(skyglass_sky::Frame::Icrs, sky))
        };
        // FITS pixel centres run from 1 to the size: the image's middle and its corners.
        let centre = icrs((w + 1.0) / 2.0, (h + 1.0) / 2.0)?;
        let corners = [(0.5, 0.5), (w + 0.5, 0.5), (0.5, h + 0.5), (w + 0.5, h + 0.5)];
        let radius =
            corners.iter().filter_map(|&(x, y)| icrs(x, y)).map(|c| centre.separation(c).radians()).fold(0.0, f64::max);
        Some((centre, skyglass_sky::Angle::from_radians(radius)))
    }
}

/// A FITS image with a celestial WCS, from a file's bytes; `None` when the file holds no
/// image (a table file), the reason when its image cannot be placed on the sky.
pub fn read_image(bytes: &[u8]) -> Option<Result<(skyglass_votable::fits::FitsImage, skyglass_sky::ImageWcs)>> {
    if !bytes.starts_with(b"SIMPLE") {
        return None;
    }
    let image = skyglass_votable::fits::read_fits_image(bytes).ok()?;
    let wcs = skyglass_sky::ImageWcs::from_header(|key| image.header.get(key).cloned());
    Some(wcs.map(|wcs| (image, wcs)).map_err(anyhow::Error::from))
}

/// Whether a file holds a MOC rather than a table: a FITS file whose header has the MOC
/// keywords, JSON keyed by orders (`{"3":[…]}`), or ASCII cells (`3/1-5 4/…`).
pub fn looks_like_moc(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"SIMPLE") {
        // The primary and first extension headers: MOC 1.x says PIXTYPE HEALPIX with ORDERING
        // NUNIQ, MOC 2.0 adds MOCDIM and MOCORD_S.
        let header = String::from_utf8_lossy(&bytes[..bytes.len().min(2880 * 6)]);
        return header.contains("MOCORDER") || header.contains("MOCDIM") || header.contains("MOCORD_S");
    }
    let Ok(text) = std::str::from_utf8(&bytes[..bytes.len().min(256)]) else { return false };
    let text = text.trim_start();
    if let Some(rest) = text.strip_prefix('{') {
        let rest = rest.trim_start();
        return rest.starts_with('"') && rest[1..].starts_with(|c: char| c.is_ascii_digit());
    }
    let mut chars = text.chars().skip_while(char::is_ascii_digit);
    text.starts_with(|c: char| c.is_ascii_digit()) && chars.next() == Some('/')
}

/// A space MOC from a file's bytes (a space-time MOC gives its sky coverage).
pub fn read_moc(bytes: &[u8]) -> Result<SpaceMoc> {
    match Moc::from_bytes(bytes, Some(skyglass_sky::MocKind::Space))? {
        Moc::Space(moc) => Ok(moc),
        Moc::SpaceTime(moc) => Ok(moc.space_union()),
        Moc::Time(_) => bail!("a time MOC covers no sky"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mocs_are_told_from_tables() {
        for file in
            ["moc/mocpy/P-GALEXGR6-AIS-FUV.fits", "moc/cds-moc-rust/glimpse.moc.json", "moc/astroquery/moc.fits"]
        {
            let bytes = std::fs::read(skyglass_test_support::shared_file(file)).unwrap();
            assert!(looks_like_moc(&bytes), "{file}");
            assert!(read_moc(&bytes).unwrap().sky_fraction() > 0.0, "{file}");
        }
        for file in ["footprints/pyvo/obscore-image.xml", "timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits"] {
            let bytes = std::fs::read(skyglass_test_support::shared_file(file)).unwrap();
            assert!(!looks_like_moc(&bytes), "{file}");
        }
        assert!(looks_like_moc(b"3/1-5 4/100\n"));
        assert!(!looks_like_moc(b"ra,dec\n1,2\n"));
    }
}

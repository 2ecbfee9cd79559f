//! Tile formats and where a tile lives in a HiPS: `NorderK/DirD/NpixN.ext`.

use std::fmt;

/// A tile file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileFormat {
    Jpeg,
    Png,
    Webp,
    Fits,
}

impl TileFormat {
    /// The format named in `hips_tile_format`; `None` for formats no viewer draws (e.g. `tsv`).
    pub fn from_name(name: &str) -> Option<TileFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "jpeg" | "jpg" => Some(TileFormat::Jpeg),
            "png" => Some(TileFormat::Png),
            "webp" => Some(TileFormat::Webp),
            "fits" | "fit" => Some(TileFormat::Fits),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            TileFormat::Jpeg => "jpg",
            TileFormat::Png => "png",
            TileFormat::Webp => "webp",
            TileFormat::Fits => "fits",
        }
    }

    /// FITS tiles carry values (cuts and colormaps apply); the others carry colours.
    pub fn is_values(self) -> bool {
        self == TileFormat::Fits
    }
}

impl fmt::Display for TileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TileFormat::Jpeg => "jpeg",
            TileFormat::Png => "png",
            TileFormat::Webp => "webp",
            TileFormat::Fits => "fits",
        })
    }
}

/// The path of a tile relative to the HiPS root.
pub fn tile_path(order: u8, index: u64, format: TileFormat) -> String {
    let dir = index / 10_000 * 10_000;
    format!("Norder{order}/Dir{dir}/Npix{index}.{}", format.extension())
}

/// The path of the Allsky image of `order` relative to the HiPS root.
pub fn allsky_path(order: u8, format: TileFormat) -> String {
    format!("Norder{order}/Allsky.{}", format.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_standard() {
        assert_eq!(tile_path(3, 448, TileFormat::Jpeg), "Norder3/Dir0/Npix448.jpg");
        assert_eq!(tile_path(9, 123_456, TileFormat::Fits), "Norder9/Dir120000/Npix123456.fits");
        assert_eq!(allsky_path(3, TileFormat::Png), "Norder3/Allsky.png");
    }

    #[test]
    fn format_names() {
        assert_eq!(TileFormat::from_name("JPEG"), Some(TileFormat::Jpeg));
        assert_eq!(TileFormat::from_name("tsv"), None);
    }
}

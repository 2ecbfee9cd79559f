//! Tile decoding: JPEG, PNG and WebP through `image`, FITS through `fitsrs`.
//!
//! Every decoded tile is laid out the same way, whatever its format: row `r` holds the
//! pixels whose HEALPix offset `dx` (toward the cell's east corner) lies in
//! `[r/w, (r+1)/w)`, column `c` those whose `dy` (toward the west corner) lies in
//! `[c/w, (c+1)/w)`. JPEG and PNG tiles are stored that way from their first row; FITS
//! tiles store the same picture bottom-up, so their rows are reversed here.

use crate::tile::TileFormat;
use fitsrs::card::Value;
use fitsrs::{Fits, HDU, Pixels};
use std::io::Cursor;

/// Largest tile side accepted: HiPS tiles are 512 px, a few surveys use 1024.
const MAX_SIDE: u32 = 4096;

/// The pixels of one tile (or of an Allsky mosaic).
#[derive(Clone, Debug, PartialEq)]
pub enum TilePixels {
    /// Colour, 4 bytes a pixel.
    Rgba8(Vec<u8>),
    /// Values with BSCALE/BZERO applied; blank pixels are NaN.
    Float(Vec<f32>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TileImage {
    pub width: u32,
    pub height: u32,
    pub pixels: TilePixels,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("cannot decode {format} tile: {reason}")]
    Image { format: TileFormat, reason: String },
    #[error("cannot read FITS tile: {0}")]
    Fits(String),
    #[error("tile is {width}x{height} pixels; tiles are square, at most {MAX_SIDE} px a side")]
    BadShape { width: u64, height: u64 },
}

impl TileImage {
    pub fn is_float(&self) -> bool {
        matches!(self.pixels, TilePixels::Float(_))
    }

    /// The part of the image at `x, y` (top-left) of `side` pixels, as its own image.
    pub fn crop(&self, x: u32, y: u32, side: u32) -> Option<TileImage> {
        if x.checked_add(side)? > self.width || y.checked_add(side)? > self.height {
            return None;
        }
        let (w, side_us) = (self.width as usize, side as usize);
        let rows = (y as usize..y as usize + side_us).map(|row| row * w + x as usize);
        let pixels = match &self.pixels {
            TilePixels::Rgba8(data) => {
                TilePixels::Rgba8(rows.flat_map(|start| &data[start * 4..(start + side_us) * 4]).copied().collect())
            }
            TilePixels::Float(data) => {
                TilePixels::Float(rows.flat_map(|start| &data[start..start + side_us]).copied().collect())
            }
        };
        Some(TileImage { width: side, height: side, pixels })
    }
}

/// Decodes a tile's file contents. Allsky images use the same function (they are not square).
pub fn decode(bytes: &[u8], format: TileFormat) -> Result<TileImage, DecodeError> {
    match format {
        TileFormat::Fits => decode_fits(bytes),
        TileFormat::Jpeg => decode_image(bytes, format, image::ImageFormat::Jpeg),
        TileFormat::Png => decode_image(bytes, format, image::ImageFormat::Png),
        TileFormat::Webp => decode_image(bytes, format, image::ImageFormat::WebP),
    }
}

fn decode_image(bytes: &[u8], format: TileFormat, image_format: image::ImageFormat) -> Result<TileImage, DecodeError> {
    // A JPEG cut short (an interrupted download) still decodes, grey below the cut: refuse
    // one without its end-of-image marker so that its parent is drawn instead.
    if format == TileFormat::Jpeg && !bytes.trim_ascii_end().ends_with(&[0xFF, 0xD9]) {
        return Err(DecodeError::Image { format, reason: "truncated: no end-of-image marker".into() });
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE * 27);
    limits.max_image_height = Some(MAX_SIDE * 29);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let image = reader.decode().map_err(|error| DecodeError::Image { format, reason: error.to_string() })?;
    let rgba = image.into_rgba8();
    Ok(TileImage { width: rgba.width(), height: rgba.height(), pixels: TilePixels::Rgba8(rgba.into_raw()) })
}

fn decode_fits(bytes: &[u8]) -> Result<TileImage, DecodeError> {
    // fitsrs trusts its input in places; a broken tile must cost one tile, never the app.
    std::panic::catch_unwind(|| decode_fits_unguarded(bytes))
        .unwrap_or_else(|_| Err(DecodeError::Fits("malformed FITS data".into())))
}

fn decode_fits_unguarded(bytes: &[u8]) -> Result<TileImage, DecodeError> {
    let mut fits = Fits::from_reader(Cursor::new(bytes));
    let hdu = match fits.next() {
        Some(Ok(HDU::Primary(hdu))) => hdu,
        Some(Ok(_)) => return Err(DecodeError::Fits("the first HDU is not an image".into())),
        Some(Err(error)) => return Err(DecodeError::Fits(error.to_string())),
        None => return Err(DecodeError::Fits("empty file".into())),
    };
    let header = hdu.get_header();
    let naxis = header.get_xtension().get_naxis().to_vec();
    // Cubes of depth 1 are images too.
    let (width, height) = match naxis.as_slice() {
        [w, h] | [w, h, 1] => (*w, *h),
        _ => return Err(DecodeError::Fits(format!("expected a 2-D image, found NAXIS = {}", naxis.len()))),
    };
    if width == 0 || height == 0 || width > u64::from(MAX_SIDE) || height > u64::from(MAX_SIDE) {
        return Err(DecodeError::BadShape { width, height });
    }
    let number = |key: &str| match header.get(key) {
        Some(Value::Integer { value, .. }) => Some(*value as f64),
        // DSS2 tiles write BLANK as a float (-32768.0), which the standard forbids; accept it.
        Some(Value::Float { value, .. }) => Some(*value),
        _ => None,
    };
    let scale = number("BSCALE").unwrap_or(1.0);
    let zero = number("BZERO").unwrap_or(0.0);
    let blank = number("BLANK");
    let count = (width * height) as usize;

    let physical = |raw: f64| if Some(raw) == blank { f32::NAN } else { (raw * scale + zero) as f32 };
    let data = fits.get_data(&hdu);
    let values: Vec<f32> = match data.pixels() {
        Pixels::U8(it) => it.take(count).map(|v| physical(f64::from(v))).collect(),
        Pixels::I16(it) => it.take(count).map(|v| physical(f64::from(v))).collect(),
        Pixels::I32(it) => it.take(count).map(|v| physical(f64::from(v))).collect(),
        Pixels::I64(it) => it.take(count).map(|v| physical(v as f64)).collect(),
        // BLANK applies to integer data only; float blanks are NaN already.
        Pixels::F32(it) => it.take(count).map(|v| (f64::from(v) * scale + zero) as f32).collect(),
        Pixels::F64(it) => it.take(count).map(|v| (v * scale + zero) as f32).collect(),
    };
    if values.len() != count {
        return Err(DecodeError::Fits(format!("truncated: {} of {count} pixels present", values.len())));
    }
    // FITS rows go bottom-up: reverse them into the common layout.
    let w = width as usize;
    let flipped: Vec<f32> = values.chunks_exact(w).rev().flatten().copied().collect();
    Ok(TileImage { width: width as u32, height: height as u32, pixels: TilePixels::Float(flipped) })
}

/// Splits an Allsky image of `order` into its tiles, in NESTED index order.
///
/// The image is a mosaic of all 12·4^order tiles, `floor(sqrt(n))` to a row (27 at order 3),
/// each shrunk to `width / per_row` pixels.
pub fn split_allsky(allsky: &TileImage, order: u8) -> Result<Vec<TileImage>, DecodeError> {
    if order > 3 {
        return Err(DecodeError::Image {
            format: TileFormat::Jpeg,
            reason: "Allsky images exist up to order 3".into(),
        });
    }
    let count = 12u32 << (2 * order);
    let per_row = (f64::from(count).sqrt().floor() as u32).max(1);
    let rows = count.div_ceil(per_row);
    let side = allsky.width / per_row;
    if side == 0 || !allsky.width.is_multiple_of(per_row) || allsky.height < rows * side {
        return Err(DecodeError::BadShape { width: u64::from(allsky.width), height: u64::from(allsky.height) });
    }
    (0..count)
        .map(|index| {
            let (x, y) = ((index % per_row) * side, (index / per_row) * side);
            allsky
                .crop(x, y, side)
                .ok_or(DecodeError::BadShape { width: u64::from(allsky.width), height: u64::from(allsky.height) })
        })
        .collect()
}

//! The glyphs egui's own font lacks and astronomers read every day: the primes of
//! sexagesimal angles (′ ″) in grid labels and positions, Greek in star names, arrows in the
//! table's sort order, ±, ≤, Å. A subset of DejaVu Sans (assets/fonts) is installed after
//! egui's fonts, so it is used only where they have no glyph.

use egui::epaint::text::{FontData, FontInsert, FontPriority, InsertFontFamily};

/// The bundled fallback font: DejaVu Sans, cut by assets/fonts/make_fonts.sh.
const SYMBOLS: &[u8] = include_bytes!("../../../assets/fonts/skyglass-symbols.ttf");

/// Adds the fallback font to both of egui's families.
pub fn install(ctx: &egui::Context) {
    let families = [egui::FontFamily::Proportional, egui::FontFamily::Monospace]
        .into_iter()
        .map(|family| InsertFontFamily { family, priority: FontPriority::Lowest })
        .collect();
    ctx.add_font(FontInsert::new("skyglass-symbols", FontData::from_static(SYMBOLS), families));
}

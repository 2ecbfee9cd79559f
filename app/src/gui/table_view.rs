//! The table view: a catalogue's rows, scrolled virtually (only the rows on screen are laid
//! out, so millions cost what dozens do), sorted by a header click, columns shown or
//! hidden, a filter expression, units and UCDs in the headers, export; a click selects the
//! row on the sky too.

use super::catalog::Catalogue;
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use egui_extras::{Column, TableBuilder};
use skyglass_votable::TableFormat;
use skyglass_votable::model::meta;
use std::path::Path;
use std::sync::Arc;

/// What the user asked of the table view this frame.
#[derive(Debug, PartialEq)]
pub enum TableAction {
    None,
    /// Centre the sky on this row.
    GoTo(usize),
    /// Export the table (filtered rows only) in this format.
    Export(TableFormat),
}

pub fn table_view(ui: &mut egui::Ui, catalogue: &mut Catalogue, wake: impl Fn() + Send + 'static) -> TableAction {
    let mut action = TableAction::None;
    let rows = Arc::clone(&catalogue.view);
    ui.horizontal(|ui| {
        ui.strong(&catalogue.name);
        ui.label(format!("{} of {} rows", rows.len(), catalogue.rows()));
        ui.separator();
        ui.label("Filter");
        let field = ui.add(
            egui::TextEdit::singleline(&mut catalogue.filter)
                .hint_text("SQL over the columns: hpmag < 6 AND b_v > 1")
                .desired_width(280.0),
        );
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            catalogue.apply_filter(wake);
        }
        if catalogue.is_filtering() {
            ui.spinner();
        }
        ui.menu_button("Columns", |ui| {
            let schema = catalogue.batch.schema();
            for (i, field) in schema.fields().iter().enumerate() {
                let mut shown = !catalogue.hidden_columns[i];
                if ui.checkbox(&mut shown, field.name()).changed() {
                    catalogue.hidden_columns[i] = !shown;
                }
            }
        });
        ui.menu_button("Export", |ui| {
            for (label, format) in [
                ("CSV", TableFormat::Csv),
                ("VOTable", TableFormat::VoTable),
                ("Parquet", TableFormat::Parquet),
                ("FITS", TableFormat::Fits),
            ] {
                if ui.button(label).clicked() {
                    action = TableAction::Export(format);
                }
            }
        });
        if let Some(row) = catalogue.selected
            && ui.button("Go to selected").clicked()
        {
            action = TableAction::GoTo(row);
        }
    });
    if let Some(error) = &catalogue.filter_error {
        ui.colored_label(ui.visuals().error_fg_color, error);
    }

    let batch = catalogue.batch.clone();
    let schema = batch.schema();
    let columns: Vec<usize> = (0..schema.fields().len()).filter(|i| !catalogue.hidden_columns[*i]).collect();
    let options = FormatOptions::default().with_null("");
    let formatters: Vec<Option<ArrayFormatter<'_>>> =
        columns.iter().map(|c| ArrayFormatter::try_new(batch.column(*c).as_ref(), &options).ok()).collect();
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    let mut table = TableBuilder::new(ui)
        .id_salt(("table", catalogue.id))
        .striped(true)
        .resizable(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .min_scrolled_height(0.0)
        .columns(Column::initial(100.0).at_least(30.0).clip(true), columns.len());
    if catalogue.scroll_to_selected
        && let Some(selected) = catalogue.selected
        && let Some(position) = rows.iter().position(|r| *r as usize == selected)
    {
        table = table.scroll_to_row(position, Some(egui::Align::Center));
    }
    catalogue.scroll_to_selected = false;
    let mut clicked = None;
    let mut sort = None;
    table
        .header(row_height + 2.0, |mut header| {
            for column in &columns {
                let field = schema.field(*column);
                let unit = field.metadata().get(meta::UNIT).filter(|u| !u.is_empty());
                let mut title = match unit {
                    Some(unit) => format!("{} [{unit}]", field.name()),
                    None => field.name().clone(),
                };
                if let Some((sorted, ascending, _)) = &catalogue.order
                    && sorted == column
                {
                    title.push_str(if *ascending { " ⏶" } else { " ⏷" });
                }
                header.col(|ui| {
                    let mut hover = String::new();
                    if let Some(ucd) = field.metadata().get(meta::UCD) {
                        hover.push_str(&format!("UCD {ucd}\n"));
                    }
                    if let Some(description) = field.metadata().get(meta::DESCRIPTION) {
                        hover.push_str(description);
                    }
                    hover.push_str("\nclick to sort");
                    let response =
                        ui.add(egui::Label::new(egui::RichText::new(title).strong()).sense(egui::Sense::click()));
                    if response.on_hover_text(hover.trim()).clicked() {
                        sort = Some(*column);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_height, rows.len(), |mut row| {
                let table_row = rows[row.index()] as usize;
                row.set_selected(catalogue.selected == Some(table_row) || catalogue.row_list.contains(&table_row));
                for formatter in &formatters {
                    row.col(|ui| {
                        let text = formatter.as_ref().map(|f| f.value(table_row).to_string()).unwrap_or_default();
                        ui.add(egui::Label::new(text).selectable(false).truncate());
                    });
                }
                if row.response().clicked() {
                    clicked = Some(table_row);
                }
            });
        });
    if let Some(column) = sort {
        catalogue.sort_by(column);
    }
    if let Some(row) = clicked {
        catalogue.select(Some(row), false);
        action = TableAction::GoTo(row);
    }
    action
}

/// Writes the catalogue's filtered rows to `folder/NAME.EXT`; the path written.
pub fn export(catalogue: &Catalogue, format: TableFormat, folder: &Path) -> anyhow::Result<std::path::PathBuf> {
    let indices = arrow_array::UInt32Array::from(catalogue.view_rows().to_vec());
    let batch = arrow_select::take::take_record_batch(&catalogue.batch, &indices)?;
    let table = skyglass_votable::TableData { batches: vec![batch], ..catalogue.table() };
    let extension = match format {
        TableFormat::Csv => "csv",
        TableFormat::VoTable => "vot",
        TableFormat::Parquet => "parquet",
        TableFormat::Fits => "fits",
        _ => "dat",
    };
    let stem: String =
        catalogue.name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    let path = folder.join(format!("{stem}.{extension}"));
    crate::convert::write_output(&table, format, &path.to_string_lossy())?;
    Ok(path)
}

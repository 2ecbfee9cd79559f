//! The pair table: the matched rows of A beside those of B, with their separation.

use crate::{Matches, Mode};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The name of the separation column, in arcseconds.
pub const SEPARATION_COLUMN: &str = "separation";

/// A's columns for the matched rows of A, then B's, then the separation in arcseconds;
/// [`Mode::UnmatchedA`] keeps A's columns only. A name in both tables gets `_1` and `_2`,
/// as STILTS does; field metadata (units, UCDs, descriptions) comes along. The columns are
/// the same whatever was found, none included.
pub fn pair_table(a: &RecordBatch, b: &RecordBatch, matches: &Matches, mode: Mode) -> Result<RecordBatch, ArrowError> {
    let rows_a = UInt64Array::from_iter_values(matches.a.iter().map(|&row| row as u64));
    let rows_b: UInt64Array = matches.b.iter().map(|row| row.map(|r| r as u64)).collect();
    let with_b = mode != Mode::UnmatchedA;
    let names_a: HashSet<&str> = a.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
    let names_b: HashSet<&str> = if with_b {
        b.schema_ref().fields().iter().map(|f| f.name().as_str()).chain([SEPARATION_COLUMN]).collect()
    } else {
        HashSet::new()
    };
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let mut add = |field: &Field, column: ArrayRef, clashes: bool, suffix: &str| {
        let name = if clashes { format!("{}{suffix}", field.name()) } else { field.name().clone() };
        fields.push(field.clone().with_name(name).with_nullable(true));
        columns.push(column);
    };
    for (field, column) in a.schema_ref().fields().iter().zip(a.columns()) {
        add(field, arrow_select::take::take(column, &rows_a, None)?, names_b.contains(field.name().as_str()), "_1");
    }
    if with_b {
        for (field, column) in b.schema_ref().fields().iter().zip(b.columns()) {
            let taken = arrow_select::take::take(column, &rows_b, None)?;
            add(field, taken, names_a.contains(field.name().as_str()), "_2");
        }
        let separation = Field::new(SEPARATION_COLUMN, DataType::Float64, true).with_metadata(HashMap::from([
            ("unit".to_owned(), "arcsec".to_owned()),
            ("ucd".to_owned(), "pos.angDistance".to_owned()),
            ("description".to_owned(), "Angular separation between the matched rows".to_owned()),
        ]));
        add(&separation, Arc::new(Float64Array::from(matches.separation_arcsec.clone())), false, "");
    }
    RecordBatch::try_new(Arc::new(Schema::new_with_metadata(fields, a.schema_ref().metadata().clone())), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Int32Array, StringArray};

    #[test]
    fn pairs_carry_both_rows_and_rename_clashes() {
        let ra = Field::new("ra", DataType::Float64, false)
            .with_metadata(HashMap::from([("unit".to_owned(), "deg".to_owned())]));
        let a = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, false), ra.clone()])),
            vec![Arc::new(Int32Array::from(vec![1, 2, 3])), Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0]))],
        )
        .unwrap();
        let b = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("name", DataType::Utf8, false), ra])),
            vec![Arc::new(StringArray::from(vec!["x", "y"])), Arc::new(Float64Array::from(vec![2.5, 1.5]))],
        )
        .unwrap();
        let matches = Matches {
            a: vec![0, 2],
            b: vec![Some(1), Some(0)],
            separation_arcsec: vec![Some(0.5), Some(1.5)],
            ..Matches::default()
        };
        let pairs = pair_table(&a, &b, &matches, Mode::All).unwrap();
        let names: Vec<&str> = pairs.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["id", "ra_1", "name", "ra_2", "separation"]);
        assert_eq!(pairs.schema_ref().field(1).metadata()["unit"], "deg");
        let name = pairs.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((name.value(0), name.value(1)), ("y", "x"));
        // Rows of A without a partner: A's columns only.
        let lonely = Matches { a: vec![1], b: vec![None], separation_arcsec: vec![None], ..Matches::default() };
        let unmatched = pair_table(&a, &b, &lonely, Mode::UnmatchedA).unwrap();
        assert_eq!(unmatched.num_columns(), 2);
        assert_eq!(unmatched.column(0).as_any().downcast_ref::<Int32Array>().unwrap().value(0), 2);
        assert!(!unmatched.column(1).is_null(0));
        // Nothing found: still both tables' columns.
        assert_eq!(pair_table(&a, &b, &Matches::default(), Mode::All).unwrap().num_columns(), 5);
    }
}

//! Cone searches on HEALPix-sorted tables: `1 = adql_in_circle(ra, dec, ...)` on a table's
//! indexed position columns gains `hpx29 BETWEEN … OR …` over the cone's HEALPix ranges,
//! which Parquet's row-group and page statistics use to skip everything else before the
//! exact test runs.

use crate::ingest::HEALPIX_COLUMN;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CastKind, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, Query, SetExpr,
    Statement, TableFactor, UnaryOperator, Value, VisitMut, VisitorMut,
};
use skyglass_sky::{Angle, LonLat};
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Most ranges added to one query: more would cost the planner more than they save.
const MAX_RANGES: usize = 24;

/// A HEALPix-sorted table: its (RA, Dec) columns and how many rows it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedTable {
    pub ra: String,
    pub dec: String,
    pub rows: u64,
}

/// Indexed tables by `schema.name`, lower case.
pub type IndexedTables = HashMap<String, IndexedTable>;

/// Adds HEALPix range predicates to cone searches on indexed tables; says whether it did.
pub fn add_healpix_ranges(statement: &mut Statement, indexed: &IndexedTables) -> bool {
    let mut visitor = ConeFinder { indexed, found: false };
    let _ = statement.visit(&mut visitor);
    visitor.found
}

struct ConeFinder<'a> {
    indexed: &'a IndexedTables,
    found: bool,
}

impl VisitorMut for ConeFinder<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_mut() else { return ControlFlow::Continue(()) };
        // One table, no joins: its columns are unambiguous.
        let [from] = select.from.as_slice() else { return ControlFlow::Continue(()) };
        if !from.joins.is_empty() {
            return ControlFlow::Continue(());
        }
        let TableFactor::Table { name, .. } = &from.relation else { return ControlFlow::Continue(()) };
        let table = name.to_string().to_ascii_lowercase();
        let Some(indexed) = self.indexed.get(&table) else { return ControlFlow::Continue(()) };
        let Some(selection) = &select.selection else { return ControlFlow::Continue(()) };
        let Some(ranges) = cone_in(selection, indexed) else { return ControlFlow::Continue(()) };
        let condition = ranges_predicate(&ranges);
        self.found = true;
        select.selection = Some(Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(selection.clone()))),
            op: BinaryOperator::And,
            right: Box::new(Expr::Nested(Box::new(condition))),
        });
        ControlFlow::Continue(())
    }
}

/// The order-29 HEALPix ranges of a cone on the table's positions required by a top-level
/// conjunct.
fn cone_in(expr: &Expr, table: &IndexedTable) -> Option<Vec<(u64, u64)>> {
    match expr {
        Expr::BinaryOp { left, op: BinaryOperator::And, right } => {
            cone_in(left, table).or_else(|| cone_in(right, table))
        }
        Expr::Nested(inner) => cone_in(inner, table),
        Expr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
            let call = match (number(left), number(right)) {
                (Some(1.0), _) => right,
                (_, Some(1.0)) => left,
                _ => return None,
            };
            let Expr::Function(function) = call.as_ref() else { return None };
            if !function.name.to_string().eq_ignore_ascii_case("adql_in_circle") {
                return None;
            }
            let args = arguments(function);
            let [lon, lat, centre_lon, centre_lat, radius] = args.as_slice() else { return None };
            if column_name(lon)? != table.ra || column_name(lat)? != table.dec {
                return None;
            }
            let (centre_lon, centre_lat, radius) = (number(centre_lon)?, number(centre_lat)?, number(radius)?);
            cone_ranges(centre_lon, centre_lat, radius, finest_useful_order(table.rows))
        }
        _ => None,
    }
}

fn arguments(function: &Function) -> Vec<&Expr> {
    let FunctionArguments::List(list) = &function.args else { return Vec::new() };
    list.args
        .iter()
        .filter_map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Some(expr),
            _ => None,
        })
        .collect()
}

/// A column's name (lower case), through casts and table qualifiers.
fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Cast { kind: CastKind::Cast, expr, .. } | Expr::Nested(expr) => column_name(expr),
        Expr::Identifier(Ident { value, .. }) => Some(value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// A numeric literal, through casts and signs.
fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Cast { expr, .. } | Expr::Nested(expr) => number(expr),
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => number(expr).map(|n| -n),
        Expr::UnaryOp { op: UnaryOperator::Plus, expr } => number(expr),
        Expr::Value(value) => match &value.value {
            Value::Number(text, _) => text.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// The HEALPix order whose cells hold about a quarter of a Parquet page of rows on average:
/// pages are the finest unit the reader skips, so ranges finer than that prune nothing more
/// and only make the predicate longer (24 ranges cost 1.4 ms more than one on 10M rows).
pub fn finest_useful_order(rows: u64) -> u8 {
    // Cells at order k: 12·4^k; rows per cell = rows / (12·4^k) = PAGE_ROWS / 4.
    let cells = (rows as f64 / (3.0 * crate::ingest::PAGE_ROWS as f64)).max(1.0);
    (cells.log2() / 2.0).ceil().clamp(0.0, 20.0) as u8
}

/// The cone's cells as merged order-29 index ranges (inclusive), at most `MAX_RANGES`:
/// where there would be more, the smallest gaps are closed (a superset; the exact test
/// follows). Cells are about a quarter of the radius across, but no finer than `max_order`.
pub fn cone_ranges(lon: f64, lat: f64, radius: f64, max_order: u8) -> Option<Vec<(u64, u64)>> {
    if !(radius.is_finite() && radius > 0.0 && radius < 180.0) {
        return None;
    }
    let centre = LonLat::from_degrees(lon, lat).ok()?;
    let cell0 = (std::f64::consts::PI / 3.0).sqrt();
    let order = ((cell0 / (radius.to_radians() / 4.0)).log2().ceil().clamp(0.0, 20.0) as u8).min(max_order);
    let cells = skyglass_sky::healpix::cone_coverage(order, centre, Angle::from_degrees(radius)).ok()?;
    let shift = 2 * u32::from(29 - order);
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for cell in cells {
        let (start, end) = (cell << shift, ((cell + 1) << shift) - 1);
        match ranges.last_mut() {
            Some(last) if last.1 + 1 == start => last.1 = end,
            _ => ranges.push((start, end)),
        }
    }
    while ranges.len() > MAX_RANGES {
        let smallest_gap = (1..ranges.len()).min_by_key(|&i| ranges[i].0 - ranges[i - 1].1)?;
        let end = ranges[smallest_gap].1;
        ranges[smallest_gap - 1].1 = end;
        ranges.remove(smallest_gap);
    }
    Some(ranges)
}

fn ranges_predicate(ranges: &[(u64, u64)]) -> Expr {
    let column = || Box::new(Expr::Identifier(Ident::new(HEALPIX_COLUMN)));
    let literal = |n: u64| Box::new(Expr::value(Value::Number(n.to_string(), false)));
    ranges
        .iter()
        .map(|(start, end)| Expr::Between { expr: column(), negated: false, low: literal(*start), high: literal(*end) })
        .reduce(|left, right| Expr::BinaryOp { left: Box::new(left), op: BinaryOperator::Or, right: Box::new(right) })
        .unwrap_or(Expr::value(Value::Boolean(true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cones_become_a_few_ranges_holding_every_point_of_the_cone() {
        let ranges = cone_ranges(83.82, -5.39, 0.5, 20).unwrap();
        assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
        let layer = cdshealpix::nested::get(29);
        for (dra, ddec) in [(0.0, 0.0), (0.49, 0.0), (0.0, -0.49), (0.3, 0.3), (-0.35, 0.34)] {
            let hash = layer
                .hash((83.82f64 + dra / (-5.39f64).to_radians().cos()).to_radians(), (-5.39f64 + ddec).to_radians());
            assert!(ranges.iter().any(|(a, b)| (*a..=*b).contains(&hash)), "({dra}, {ddec}) outside");
        }
        assert!(cone_ranges(0.0, 0.0, 0.0, 20).is_none() && cone_ranges(0.0, 0.0, f64::NAN, 20).is_none());
        // Coarse cells for a small table: fewer ranges, still holding the cone.
        let coarse = cone_ranges(83.82, -5.39, 0.5, finest_useful_order(118_000)).unwrap();
        assert!(coarse.len() <= 4, "{coarse:?}");
        let centre = layer.hash(83.82f64.to_radians(), (-5.39f64).to_radians());
        assert!(coarse.iter().any(|(a, b)| (*a..=*b).contains(&centre)));
        assert_eq!(finest_useful_order(10_000_000), 6);
    }

    #[test]
    fn only_cones_on_the_indexed_columns_gain_ranges() {
        let hipparcos = IndexedTable { ra: "ra".to_owned(), dec: "dec".to_owned(), rows: 117_955 };
        let indexed: IndexedTables = [("catalogs.hipparcos".to_owned(), hipparcos)].into();
        let rewrite = |adql: &str| {
            let mut statement = skyglass_adql::translate(adql).unwrap();
            add_healpix_ranges(&mut statement, &indexed);
            statement.to_string()
        };
        let cone = rewrite(
            "SELECT hip FROM catalogs.hipparcos WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0.5)) AND hpmag < 9",
        );
        assert!(cone.contains("hpx29 BETWEEN"), "{cone}");
        let other_columns =
            rewrite("SELECT hip FROM catalogs.hipparcos WHERE 1 = CONTAINS(POINT(plx, dec), CIRCLE(10, 20, 0.5))");
        assert!(!other_columns.contains("hpx29"), "{other_columns}");
        let other_table =
            rewrite("SELECT * FROM catalogs.bsc5 WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0.5))");
        assert!(!other_table.contains("hpx29"), "{other_table}");
        let negated =
            rewrite("SELECT hip FROM catalogs.hipparcos WHERE NOT (1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0.5)))");
        assert!(!negated.contains("hpx29"), "{negated}");
    }
}

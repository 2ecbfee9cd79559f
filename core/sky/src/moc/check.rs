//! Checks run before the `moc` crate sees an input. It reads what it can of a truncated
//! table, skips words and values it does not understand, and trusts orders and indices; these
//! checks turn all of that into errors that name the fault.

use super::{MocError, MocKind};
use moc::qty::{Hpx, MocQty, Time};

/// The `moc` crate reads what it can of a truncated table and trusts the values it reads
/// (a NUNIQ below 4 underflows inside it). Check first that the table holds all the rows its
/// header announces and that every value is one a MOC of that kind can hold.
pub(super) fn check_fits_table(bytes: &[u8]) -> Result<(), MocError> {
    const BLOCK: usize = 2880;
    const CARD: usize = 80;
    let fits_error = |what: String| MocError::Fits(what);
    let mut offset = 0;
    let mut keywords = std::collections::HashMap::new();
    // The mandatory cards of a MOC file, in the order FITS requires them (None: any value).
    // The `moc` crate checks them too, but fails on values shorter than it expects while
    // writing its error message.
    let mandatory: [&[(&str, Option<&str>)]; 2] = [
        &[("SIMPLE", Some("T")), ("BITPIX", Some("8")), ("NAXIS", Some("0"))],
        &[
            ("XTENSION", Some("BINTABLE")),
            ("BITPIX", Some("8")),
            ("NAXIS", Some("2")),
            ("NAXIS1", None),
            ("NAXIS2", None),
            ("PCOUNT", Some("0")),
            ("GCOUNT", Some("1")),
            ("TFIELDS", Some("1")),
        ],
    ];
    // The primary header (no data in a MOC file), then the BINTABLE extension's header.
    for (hdu, expected_cards) in mandatory.iter().enumerate() {
        keywords.clear();
        for position in 0.. {
            let card = bytes
                .get(offset..offset + CARD)
                .ok_or_else(|| fits_error(format!("the file is truncated: header {} has no END card", hdu + 1)))?;
            offset += CARD;
            let text = String::from_utf8_lossy(card);
            // Keywords are left-justified: " END" is not the end of the header.
            let key = text.get(..8).unwrap_or("").trim_end().to_owned();
            if key == "END" {
                break;
            }
            let value = (text.get(8..10) == Some("= ")).then(|| fits_card_value(text.get(10..).unwrap_or("")));
            if let Some(&(expected_key, expected_value)) = expected_cards.get(position) {
                let found = value.as_deref().unwrap_or("");
                if key != expected_key || expected_value.is_some_and(|v| v != found) {
                    let expected = expected_value.map_or(String::new(), |v| format!(" = {v}"));
                    return Err(fits_error(format!(
                        "header {}, card {}: expected {expected_key}{expected}, found {key} = {found:?}",
                        hdu + 1,
                        position + 1
                    )));
                }
            }
            // The first occurrence counts, as for the `moc` crate reading the cards in order.
            if let Some(value) = value {
                keywords.entry(key).or_insert(value);
            }
        }
        offset = offset.div_ceil(BLOCK) * BLOCK;
    }
    let number = |key: &str| -> Result<usize, MocError> {
        keywords
            .get(key)
            .ok_or_else(|| fits_error(format!("the table header has no {key}")))?
            .parse()
            .map_err(|_| fits_error(format!("the table header's {key} is not a whole number")))
    };
    let (row_bytes, rows) = (number("NAXIS1")?, number("NAXIS2")?);
    let table_bytes = row_bytes.checked_mul(rows).ok_or_else(|| fits_error("the table size overflows".to_owned()))?;
    let table = bytes.get(offset..offset + table_bytes).ok_or_else(|| {
        fits_error(format!(
            "the file is truncated: the table needs {table_bytes} bytes, the file holds {}",
            bytes.len().saturating_sub(offset)
        ))
    })?;

    let format = keywords.get("TFORM1").map(|f| f.trim_start_matches(|c: char| c.is_ascii_digit())).unwrap_or("");
    let width = match format {
        "I" => 2,
        "J" => 4,
        "K" => 8,
        other => return Err(fits_error(format!("unsupported column format TFORM1 = {other:?}"))),
    };
    // The deepest order a value of this width holds (HEALPix: 29 in 64 bits, 13 in 32, 5 in 16).
    let bits = 8 * width as u32;
    let space_depth = (bits - 4) / 2 - 1;
    let values = table.chunks_exact(width).map(|chunk| {
        let mut padded = [0u8; 8];
        padded[8 - width..].copy_from_slice(chunk);
        // Sign-extend: FITS integers are signed big-endian.
        (i64::from_be_bytes(padded) << (64 - bits)) >> (64 - bits)
    });
    let ordering = keywords.get("ORDERING").map(String::as_str).unwrap_or("NUNIQ");
    // MOC 2.0 names the kind in MOCDIM; before it, RANGE29 meant space-time and TIMESYS time.
    let dimension = match keywords.get("MOCDIM") {
        Some(dimension) => dimension.as_str(),
        None if ordering == "RANGE29" => "TIME.SPACE",
        None if keywords.contains_key("TIMESYS") => "TIME",
        None => "SPACE",
    };
    let out_of_range =
        |value: i64| fits_error(format!("cell value {value} is not valid in a {dimension} MOC ({ordering})"));
    match (dimension, ordering) {
        ("SPACE", "NUNIQ") => {
            // 0 pads tables written by Aladin and cells deeper than the MOC's order come from
            // old writers: the `moc` crate skips both. 1 to 3 are no cell at all.
            if let Some(value) = values.into_iter().find(|v| (1..4).contains(v)) {
                return Err(out_of_range(value));
            }
        }
        ("SPACE" | "TIME", "RANGE") => {
            let limit: i128 = if dimension == "SPACE" { 3i128 << (2 * space_depth + 2) } else { 1i128 << (bits - 2) };
            let mut previous_end = 0;
            let all: Vec<i64> = values.collect();
            if !all.len().is_multiple_of(2) {
                return Err(fits_error("a RANGE table needs an even number of values".to_owned()));
            }
            for pair in all.chunks_exact(2) {
                let (start, end) = (pair[0], pair[1]);
                if start < previous_end || start >= end || i128::from(end) > limit {
                    return Err(fits_error(format!("range {start}..{end} is not valid in a {dimension} MOC")));
                }
                previous_end = end;
            }
        }
        ("TIME.SPACE", "RANGE" | "RANGE29") => {
            // Time bounds are marked by the sign bit (MOC 2.0) or negated (RANGE29); either
            // way every bound is within 2^62.
            for value in values {
                let flagged = (value as u64) & !(1u64 << 63);
                if flagged.min(value.unsigned_abs()) > 1u64 << 62 {
                    return Err(out_of_range(value));
                }
            }
        }
        _ => {
            return Err(fits_error(format!("unsupported MOC: MOCDIM = {dimension:?} with ORDERING = {ordering:?}")));
        }
    }
    Ok(())
}

/// The value of a FITS header card (the text after `= `): a quoted string without its quotes
/// and trailing blanks (`''` stands for a quote), or the text before the comment.
fn fits_card_value(text: &str) -> String {
    let text = text.trim_start();
    let Some(quoted) = text.strip_prefix('\'') else {
        return text.split('/').next().unwrap_or("").trim().to_owned();
    };
    let mut value = String::new();
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                break;
            }
        }
        value.push(c);
    }
    value.trim_end().to_owned()
}

/// Every word of an ASCII MOC is `[t|s]order/`, `index` or `first-last`, with orders and
/// indices in range for the MOC's kind: the `moc` crate trusts them and would overflow.
pub(super) fn check_ascii_tokens(text: &str, kind: MocKind) -> Result<(), MocError> {
    let bad = |token: &str, why: &str| MocError::Ascii(format!("{why} in {token:?}"));
    let mut limits: Option<(u8, u64)> = None;
    for token in text.split([' ', '\t', '\n', '\r', ',']).filter(|t| !t.is_empty()) {
        let (order_part, cells) = match token.split_once('/') {
            Some((order, rest)) => (Some(order), rest),
            None => (None, token),
        };
        if let Some(order_part) = order_part {
            let dimension = match (kind, order_part.chars().next()) {
                (MocKind::SpaceTime, Some('t')) | (MocKind::Time, _) => MocKind::Time,
                _ => MocKind::Space,
            };
            let digits = order_part.trim_start_matches(['t', 's']);
            let order: u8 = digits.parse().map_err(|_| bad(token, "the order is not a number"))?;
            let (max_order, base_cells) = match dimension {
                MocKind::Time => (Time::<u64>::MAX_DEPTH, 2u64),
                _ => (Hpx::<u64>::MAX_DEPTH, 12u64),
            };
            if order > max_order {
                return Err(bad(token, &format!("order {order} is above the maximum, {max_order}")));
            }
            let bits_per_order = if dimension == MocKind::Time { 1 } else { 2 };
            limits = Some((order, base_cells << (bits_per_order * u32::from(order))));
        }
        if cells.is_empty() {
            continue;
        }
        let (first, last) = cells.split_once('-').unwrap_or((cells, cells));
        let index = |s: &str| s.parse::<u64>().map_err(|_| bad(token, "not a cell index"));
        let (first, last) = (index(first)?, index(last)?);
        let Some((order, count)) = limits else {
            return Err(bad(token, "a cell index before any order"));
        };
        if first > last || last >= count {
            return Err(bad(token, &format!("cells {first}-{last} do not exist at order {order}")));
        }
    }
    Ok(())
}

/// The JSON serialisation: `{"order": [indices]}`, or for space-time MOCs a list of
/// `{"t": {...}, "s": {...}}`. The `moc` crate skips what it does not understand, so check
/// the shape and the ranges first.
pub(super) fn check_json(text: &str, kind: MocKind) -> Result<(), MocError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| MocError::Json(e.to_string()))?;
    let check_cells = |object: &serde_json::Value, dimension: MocKind| -> Result<(), MocError> {
        let map =
            object.as_object().ok_or_else(|| MocError::Json("expected an object of order: [cells]".to_owned()))?;
        let (max_order, base_cells, bits) = match dimension {
            MocKind::Time => (Time::<u64>::MAX_DEPTH, 2u64, 1),
            _ => (Hpx::<u64>::MAX_DEPTH, 12u64, 2),
        };
        for (key, cells) in map {
            let order: u8 = key.parse().map_err(|_| MocError::Json(format!("{key:?} is not an order")))?;
            if order > max_order {
                return Err(MocError::Json(format!("order {order} is above the maximum, {max_order}")));
            }
            let count = base_cells << (bits * u32::from(order));
            let cells =
                cells.as_array().ok_or_else(|| MocError::Json(format!("order {order}: expected a list of cells")))?;
            for cell in cells {
                match cell.as_u64() {
                    Some(index) if index < count => {}
                    _ => return Err(MocError::Json(format!("order {order}: {cell} is not a cell index"))),
                }
            }
        }
        Ok(())
    };
    match kind {
        MocKind::SpaceTime => {
            let elements = value
                .as_array()
                .ok_or_else(|| MocError::Json("expected a list of {\"t\", \"s\"} objects".to_owned()))?;
            for element in elements {
                let (Some(time), Some(space)) = (element.get("t"), element.get("s")) else {
                    return Err(MocError::Json("each element needs \"t\" and \"s\"".to_owned()));
                };
                check_cells(time, MocKind::Time)?;
                check_cells(space, MocKind::Space)?;
            }
            Ok(())
        }
        dimension => check_cells(&value, dimension),
    }
}

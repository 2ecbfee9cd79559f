//! Parsing positions as users type them.
//!
//! Accepted, with longitude first:
//! - decimal degrees: `10.684 41.269`, `10.684, +41.269`, `10.684d 41.269d`, `10.684° 41.269°`;
//! - sexagesimal with colons or spaces: `10:41:04.5 +41:16:09`, `10 41 04.5 +41 16 09`;
//! - sexagesimal with unit letters or symbols: `10h41m04.5s +41d16m09s`, `41°16′09″`, `41°16'09"`.
//!
//! A sexagesimal longitude without unit letters is read in hours for equatorial frames (ICRS,
//! FK5) and in degrees for the others; decimal longitudes are always degrees unless marked `h`.

use crate::angle::Angle;
use crate::coord::LonLat;
use crate::frame::Frame;

/// Why a position could not be read. The message names the part at fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ParseCoordError {
    #[error("no position given: expected e.g. \"10.684 41.269\" or \"00:42:44.3 +41:16:09\"")]
    Empty,
    #[error("{0:?} looks like an object name; give coordinates instead, e.g. \"10.684 41.269\"")]
    ObjectName(String),
    #[error("expected a longitude and a latitude, but could not split {0:?} into two")]
    NotTwoParts(String),
    #[error("unexpected character {character:?} in {part:?}")]
    UnexpectedCharacter { character: char, part: String },
    #[error("{part:?} has more than three sexagesimal fields")]
    TooManyFields { part: String },
    #[error("{part:?}: the {field} field must be a whole number")]
    FractionalField { field: &'static str, part: String },
    #[error("{part:?}: {field} must be below 60, got {value}")]
    SixtyOrMore { field: &'static str, value: f64, part: String },
    #[error("{part:?}: unit marks out of order (expected h/d, then m, then s)")]
    MisplacedUnit { part: String },
    #[error("{part:?}: a sign may only stand at the start")]
    MisplacedSign { part: String },
    #[error("{part:?} is not a number")]
    NotANumber { part: String },
    #[error("latitude {part:?} cannot be in hours")]
    LatitudeInHours { part: String },
    #[error("longitude {part:?} is outside 0h..24h")]
    HoursOutOfRange { part: String },
    #[error("longitude {part:?} is outside -360°..360°")]
    LongitudeOutOfRange { part: String },
    #[error("latitude {part:?} is outside -90°..+90°")]
    LatitudeOutOfRange { part: String },
}

/// Reads a position in `frame` (the frame decides whether bare sexagesimal longitudes are hours).
pub fn parse_position(text: &str, frame: Frame) -> Result<LonLat, ParseCoordError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseCoordError::Empty);
    }
    // Positions start with a digit, a sign or a dot; names (M31, NGC 224) with a letter.
    if text.starts_with(|c: char| c.is_alphabetic()) {
        return Err(ParseCoordError::ObjectName(text.to_owned()));
    }
    let (lon_text, lat_text) = split_lon_lat(text)?;
    let lon = parse_longitude(lon_text, frame.is_equatorial())?;
    let lat = parse_latitude(lat_text)?;
    LonLat::new(lon, lat).map_err(|_| ParseCoordError::LatitudeOutOfRange { part: lat_text.to_owned() })
}

/// Reads one longitude: decimal degrees, or sexagesimal (hours when `sexagesimal_in_hours`
/// and no unit mark says otherwise). The result wraps into [0°, 360°).
pub fn parse_longitude(text: &str, sexagesimal_in_hours: bool) -> Result<Angle, ParseCoordError> {
    let parsed = parse_component(text)?;
    let part = text.trim().to_owned();
    let in_hours = match parsed.unit {
        Unit::Hours => true,
        Unit::Degrees => false,
        Unit::Unmarked => parsed.sexagesimal && sexagesimal_in_hours,
    };
    if in_hours {
        if parsed.negative || parsed.value >= 24.0 {
            return Err(ParseCoordError::HoursOutOfRange { part });
        }
        Ok(Angle::from_hours(parsed.value).wrap_to_turn())
    } else {
        if parsed.value > 360.0 {
            return Err(ParseCoordError::LongitudeOutOfRange { part });
        }
        Ok(Angle::from_degrees(parsed.signed()).wrap_to_turn())
    }
}

/// Reads one latitude in degrees, decimal or sexagesimal, within ±90°.
pub fn parse_latitude(text: &str) -> Result<Angle, ParseCoordError> {
    let parsed = parse_component(text)?;
    let part = text.trim().to_owned();
    if parsed.unit == Unit::Hours {
        return Err(ParseCoordError::LatitudeInHours { part });
    }
    if parsed.value > 90.0 {
        return Err(ParseCoordError::LatitudeOutOfRange { part });
    }
    Ok(Angle::from_degrees(parsed.signed()))
}

/// Splits a position into its longitude and latitude parts.
fn split_lon_lat(text: &str) -> Result<(&str, &str), ParseCoordError> {
    let not_two = || ParseCoordError::NotTwoParts(text.to_owned());
    if let Some((lon, lat)) = text.split_once(',') {
        if lat.contains(',') || lon.trim().is_empty() || lat.trim().is_empty() {
            return Err(not_two());
        }
        return Ok((lon.trim(), lat.trim()));
    }
    let words: Vec<(usize, &str)> = word_spans(text);
    match words.len() {
        // `10h41m04.5s+41d16m09s`: the latitude starts at its sign.
        1 => split_at_inner_sign(text).ok_or_else(not_two),
        // Two halves of equal length: `lon lat`, `hh mm dd mm` or `hh mm ss dd mm ss`.
        2 | 4 | 6 => {
            let half = words.len() / 2;
            let (split_at, _) = words[half];
            Ok((text[..split_at].trim(), text[split_at..].trim()))
        }
        _ => Err(not_two()),
    }
}

/// The byte offsets and texts of whitespace-separated words.
fn word_spans(text: &str) -> Vec<(usize, &str)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                spans.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, &text[s..]));
    }
    spans
}

fn split_at_inner_sign(text: &str) -> Option<(&str, &str)> {
    let mut previous = None;
    for (i, c) in text.char_indices() {
        let after_exponent = matches!(previous, Some('e' | 'E'));
        if i > 0 && is_sign(c) && !after_exponent {
            return Some((&text[..i], &text[i..]));
        }
        previous = Some(c);
    }
    None
}

fn is_sign(c: char) -> bool {
    matches!(c, '+' | '-' | '\u{2212}')
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Hours,
    Degrees,
    Unmarked,
}

/// One component read off the text: an unsigned magnitude in its first field's unit.
struct Component {
    negative: bool,
    value: f64,
    unit: Unit,
    sexagesimal: bool,
}

impl Component {
    fn signed(&self) -> f64 {
        if self.negative { -self.value } else { self.value }
    }
}

/// A mark after a number: what that number was.
#[derive(Clone, Copy, PartialEq)]
enum Mark {
    Hours,
    Degrees,
    Minutes,
    Seconds,
    Separator,
}

fn mark_of(c: char) -> Option<Mark> {
    match c {
        'h' | 'H' => Some(Mark::Hours),
        'd' | 'D' | '°' | 'º' => Some(Mark::Degrees),
        'm' | 'M' | '\'' | '′' => Some(Mark::Minutes),
        's' | 'S' | '"' | '″' => Some(Mark::Seconds),
        ':' => Some(Mark::Separator),
        c if c.is_whitespace() => Some(Mark::Separator),
        _ => None,
    }
}

fn parse_component(text: &str) -> Result<Component, ParseCoordError> {
    let part = text.trim();
    let owned = || part.to_owned();
    let (negative, body) = match part.chars().next() {
        Some(c) if is_sign(c) => (c != '+', &part[c.len_utf8()..]),
        Some(_) => (false, part),
        None => return Err(ParseCoordError::NotANumber { part: owned() }),
    };

    // Numbers and the marks that follow them, e.g. "10h41m04.5s" → [(10, h), (41, m), (4.5, s)].
    let mut fields: Vec<(String, Option<Mark>)> = Vec::new();
    let mut number = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() || c == '.' || ((c == 'e' || c == 'E') && !number.is_empty() && fields.is_empty()) {
            number.push(c);
        } else if is_sign(c) {
            // An exponent's sign, as in 1e-3, is part of the number.
            if number.ends_with(['e', 'E']) {
                number.push(if c == '+' { '+' } else { '-' });
            } else {
                return Err(ParseCoordError::MisplacedSign { part: owned() });
            }
        } else if let Some(mark) = mark_of(c) {
            if !number.is_empty() {
                fields.push((std::mem::take(&mut number), Some(mark)));
            } else if mark != Mark::Separator {
                return Err(ParseCoordError::UnexpectedCharacter { character: c, part: owned() });
            }
        } else {
            return Err(ParseCoordError::UnexpectedCharacter { character: c, part: owned() });
        }
    }
    if !number.is_empty() {
        fields.push((number, None));
    }
    // "10d41m" with letters: 'd' and 'e' are both marks and number characters; the loop above
    // only takes 'e' inside the first number, so "1e-3" works and "41d16m" does too.
    if fields.is_empty() {
        return Err(ParseCoordError::NotANumber { part: owned() });
    }
    if fields.len() > 3 {
        return Err(ParseCoordError::TooManyFields { part: owned() });
    }

    let unit = match fields.first().and_then(|(_, mark)| *mark) {
        Some(Mark::Hours) => Unit::Hours,
        Some(Mark::Degrees) => Unit::Degrees,
        Some(Mark::Minutes | Mark::Seconds) => return Err(ParseCoordError::MisplacedUnit { part: owned() }),
        Some(Mark::Separator) | None => Unit::Unmarked,
    };
    let sexagesimal = fields.len() > 1;
    let mut value = 0.0;
    let names = ["whole", "minutes", "seconds"];
    let expected_marks = [None, Some(Mark::Minutes), Some(Mark::Seconds)];
    let last = fields.len() - 1;
    for (index, (digits, mark)) in fields.iter().enumerate() {
        let number: f64 = digits.parse().map_err(|_| ParseCoordError::NotANumber { part: owned() })?;
        if !number.is_finite() {
            return Err(ParseCoordError::NotANumber { part: owned() });
        }
        let name = names.get(index).copied().unwrap_or("seconds");
        if index > 0 {
            let expected = expected_marks.get(index).copied().flatten();
            if let Some(m) = mark
                && *m != Mark::Separator
                && Some(*m) != expected
            {
                return Err(ParseCoordError::MisplacedUnit { part: owned() });
            }
            if number >= 60.0 {
                return Err(ParseCoordError::SixtyOrMore { field: name, value: number, part: owned() });
            }
        }
        if index < last && number.fract() != 0.0 {
            return Err(ParseCoordError::FractionalField { field: name, part: owned() });
        }
        value += number / 60f64.powi(index as i32);
    }
    Ok(Component { negative, value, unit, sexagesimal })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, frame: Frame, lon_deg: f64, lat_deg: f64) {
        let p = parse_position(text, frame).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let expected = LonLat::from_degrees(lon_deg, lat_deg).unwrap();
        let off = p.separation(expected).mas();
        assert!(off < 1e-3, "{text:?}: got {:?}, off by {off} mas", p);
    }

    fn check_err(text: &str, expected: &str) {
        let err = parse_position(text, Frame::Icrs).expect_err(text).to_string();
        assert!(err.contains(expected), "{text:?}: {err:?} does not mention {expected:?}");
    }

    // M31: 00h42m44.3s +41d16m09s = 10.684583°, 41.269167°.
    const M31_LON: f64 = (42.0 * 60.0 + 44.3) / 3600.0 * 15.0;
    const M31_LAT: f64 = 41.0 + 16.0 / 60.0 + 9.0 / 3600.0;

    #[test]
    fn accepted_forms() {
        check("10.684583 41.269167", Frame::Icrs, 10.684583, 41.269167);
        check("10.684583, +41.269167", Frame::Icrs, 10.684583, 41.269167);
        check("10.684583d 41.269167d", Frame::Icrs, 10.684583, 41.269167);
        check("10.684583° -41.269167°", Frame::Icrs, 10.684583, -41.269167);
        check("00:42:44.3 +41:16:09", Frame::Icrs, M31_LON, M31_LAT);
        check("00 42 44.3 +41 16 09", Frame::Icrs, M31_LON, M31_LAT);
        check("00h42m44.3s +41d16m09s", Frame::Icrs, M31_LON, M31_LAT);
        check("00h42m44.3s+41d16m09s", Frame::Icrs, M31_LON, M31_LAT);
        check("0h42m44.3s, 41°16′09″", Frame::Icrs, M31_LON, M31_LAT);
        check("0h42m44.3s 41°16'09\"", Frame::Icrs, M31_LON, M31_LAT);
        check("10:41:04.5 +41:16:09", Frame::Icrs, (10.0 + 41.0 / 60.0 + 4.5 / 3600.0) * 15.0, M31_LAT);
        check("10h41m04.5s +41d16m09s", Frame::Icrs, (10.0 + 41.0 / 60.0 + 4.5 / 3600.0) * 15.0, M31_LAT);
        check("12:30 -05:30", Frame::Icrs, 187.5, -5.5);
        check("1.5e2 -2.5e1", Frame::Icrs, 150.0, -25.0);
        check("−10 −20", Frame::Galactic, 350.0, -20.0);
    }

    #[test]
    fn bare_sexagesimal_longitude_is_hours_only_in_equatorial_frames() {
        check("10:30:00 +00:00:00", Frame::Icrs, 157.5, 0.0);
        check("10:30:00 +00:00:00", Frame::Fk5J2000, 157.5, 0.0);
        check("10:30:00 +00:00:00", Frame::Galactic, 10.5, 0.0);
        check("10h30m +10", Frame::Galactic, 157.5, 10.0);
        check("10d30m +10", Frame::Icrs, 10.5, 10.0);
    }

    #[test]
    fn clear_errors() {
        check_err("", "no position");
        check_err("10.5", "could not split");
        check_err("1 2 3", "could not split");
        check_err("10:61:00 +41:00:00", "minutes must be below 60");
        check_err("10:41:60 +41:00:00", "seconds must be below 60");
        check_err("10 95", "outside -90°..+90°");
        check_err("25h00m +10", "outside 0h..24h");
        check_err("400 10", "outside -360°..360°");
        check_err("10 41h", "cannot be in hours");
        check_err("10.5x 41", "unexpected character 'x'");
        check_err("NGC 224", "looks like an object name");
        check_err("10.5.5 41", "not a number");
        check_err("10:41.5:04 41", "whole number");
        check_err("10:41:04:03 41", "more than three");
        check_err("10s41m 41", "out of order");
        check_err("1+0 41", "sign may only stand at the start");
        check_err("10 4-1", "sign may only stand at the start");
    }
}

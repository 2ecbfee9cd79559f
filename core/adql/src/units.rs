//! ADQL 2.1's IN_UNIT: VOUnits strings parsed to a scale and a dimension, and the
//! `in_unit(value, 'unit')` function that converts a column from the unit its metadata
//! gives to the one asked for.

use datafusion::arrow::array::{Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The key under which column metadata carries the unit (as in VOTable's FIELD unit).
const UNIT_KEY: &str = "unit";

/// A unit as a multiple of a product of base units with integer powers.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity {
    pub scale: f64,
    /// Base unit → power; no zero powers. Besides the SI bases, angles (`rad`) and the
    /// countable or logarithmic units (`mag`, `ct`, `pix`, …) are dimensions of their own,
    /// so that degrees never convert to metres nor magnitudes to counts.
    pub dimension: BTreeMap<&'static str, i32>,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("unknown unit {0:?}")]
    Unknown(String),
    #[error("cannot read the unit {0:?}")]
    Syntax(String),
    #[error("{from:?} cannot be converted to {to:?}: they measure different things")]
    Incompatible { from: String, to: String },
}

/// Base units with their powers.
type Dimension = &'static [(&'static str, i32)];

/// Unit symbols: (symbol, scale in base units, dimension, takes SI prefixes).
const UNITS: &[(&str, f64, Dimension, bool)] = &[
    ("m", 1.0, &[("m", 1)], true),
    ("g", 1e-3, &[("kg", 1)], true),
    ("s", 1.0, &[("s", 1)], true),
    ("A", 1.0, &[("A", 1)], true),
    ("K", 1.0, &[("K", 1)], true),
    ("mol", 1.0, &[("mol", 1)], true),
    ("cd", 1.0, &[("cd", 1)], true),
    ("rad", 1.0, &[("rad", 1)], true),
    ("sr", 1.0, &[("rad", 2)], true),
    ("deg", std::f64::consts::PI / 180.0, &[("rad", 1)], false),
    ("arcmin", std::f64::consts::PI / 180.0 / 60.0, &[("rad", 1)], false),
    ("arcsec", std::f64::consts::PI / 180.0 / 3600.0, &[("rad", 1)], true),
    ("mas", std::f64::consts::PI / 180.0 / 3.6e6, &[("rad", 1)], false),
    ("uas", std::f64::consts::PI / 180.0 / 3.6e9, &[("rad", 1)], false),
    ("min", 60.0, &[("s", 1)], false),
    ("h", 3600.0, &[("s", 1)], false),
    ("d", 86400.0, &[("s", 1)], false),
    ("yr", 31_557_600.0, &[("s", 1)], true),
    ("a", 31_557_600.0, &[("s", 1)], true),
    ("Hz", 1.0, &[("s", -1)], true),
    ("N", 1.0, &[("kg", 1), ("m", 1), ("s", -2)], true),
    ("Pa", 1.0, &[("kg", 1), ("m", -1), ("s", -2)], true),
    ("J", 1.0, &[("kg", 1), ("m", 2), ("s", -2)], true),
    ("W", 1.0, &[("kg", 1), ("m", 2), ("s", -3)], true),
    ("C", 1.0, &[("A", 1), ("s", 1)], true),
    ("V", 1.0, &[("kg", 1), ("m", 2), ("s", -3), ("A", -1)], true),
    ("Ohm", 1.0, &[("kg", 1), ("m", 2), ("s", -3), ("A", -2)], true),
    ("T", 1.0, &[("kg", 1), ("s", -2), ("A", -1)], true),
    ("G", 1e-4, &[("kg", 1), ("s", -2), ("A", -1)], true),
    ("erg", 1e-7, &[("kg", 1), ("m", 2), ("s", -2)], true),
    ("eV", 1.602_176_634e-19, &[("kg", 1), ("m", 2), ("s", -2)], true),
    ("Jy", 1e-26, &[("kg", 1), ("s", -2)], true),
    ("AU", 1.495_978_707e11, &[("m", 1)], false),
    ("au", 1.495_978_707e11, &[("m", 1)], false),
    ("pc", 3.085_677_581_491_367e16, &[("m", 1)], true),
    ("lyr", 9.460_730_472_580_8e15, &[("m", 1)], true),
    ("Angstrom", 1e-10, &[("m", 1)], false),
    ("angstrom", 1e-10, &[("m", 1)], false),
    ("solMass", 1.988_409_870_698_051e30, &[("kg", 1)], false),
    ("solRad", 6.957e8, &[("m", 1)], false),
    ("solLum", 3.828e26, &[("kg", 1), ("m", 2), ("s", -3)], false),
    ("mag", 1.0, &[("mag", 1)], true),
    ("ct", 1.0, &[("ct", 1)], true),
    ("count", 1.0, &[("ct", 1)], false),
    ("photon", 1.0, &[("photon", 1)], true),
    ("pix", 1.0, &[("pix", 1)], true),
    ("pixel", 1.0, &[("pix", 1)], false),
    ("bit", 1.0, &[("bit", 1)], true),
    ("byte", 8.0, &[("bit", 1)], true),
    ("adu", 1.0, &[("adu", 1)], true),
    ("beam", 1.0, &[("beam", 1)], true),
    ("%", 0.01, &[], false),
];

const PREFIXES: &[(&str, f64)] = &[
    ("da", 1e1),
    ("y", 1e-24),
    ("z", 1e-21),
    ("a", 1e-18),
    ("f", 1e-15),
    ("p", 1e-12),
    ("n", 1e-9),
    ("u", 1e-6),
    ("m", 1e-3),
    ("c", 1e-2),
    ("d", 1e-1),
    ("h", 1e2),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
    ("Z", 1e21),
    ("Y", 1e24),
];

impl Quantity {
    fn one() -> Quantity {
        Quantity { scale: 1.0, dimension: BTreeMap::new() }
    }

    fn times(mut self, other: &Quantity, power: i32) -> Quantity {
        self.scale *= other.scale.powi(power);
        for (base, exponent) in &other.dimension {
            let entry = self.dimension.entry(base).or_insert(0);
            *entry += exponent * power;
            if *entry == 0 {
                self.dimension.remove(base);
            }
        }
        self
    }

    /// Reads a unit string: VOUnits (`km.s**-1`, `mas/yr`) and the CDS and FITS spellings
    /// found in real catalogues (`km/s`, `cm-2`, `m^2`, `10-3W`). The empty string is
    /// dimensionless.
    pub fn parse(text: &str) -> Result<Quantity, UnitError> {
        let mut parser = UnitParser { text, bytes: text.trim().as_bytes(), at: 0 };
        if parser.bytes.is_empty() {
            return Ok(Quantity::one());
        }
        let quantity = parser.product()?;
        if parser.at != parser.bytes.len() {
            return Err(UnitError::Syntax(text.to_owned()));
        }
        Ok(quantity)
    }
}

/// The factor that takes values in `from` to values in `to`.
pub fn conversion_factor(from: &str, to: &str) -> Result<f64, UnitError> {
    let (source, target) = (Quantity::parse(from)?, Quantity::parse(to)?);
    if source.dimension != target.dimension {
        return Err(UnitError::Incompatible { from: from.to_owned(), to: to.to_owned() });
    }
    Ok(source.scale / target.scale)
}

struct UnitParser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl UnitParser<'_> {
    fn syntax(&self) -> UnitError {
        UnitError::Syntax(self.text.to_owned())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// term (('.' | '*' | ' ' | '/') term)*
    fn product(&mut self) -> Result<Quantity, UnitError> {
        let mut quantity = self.term()?;
        loop {
            match self.peek() {
                Some(b'/') => {
                    self.at += 1;
                    quantity = quantity.times(&self.term()?, -1);
                }
                Some(b'.' | b' ') | Some(b'*') if self.bytes.get(self.at + 1) != Some(&b'*') => {
                    self.at += 1;
                    quantity = quantity.times(&self.term()?, 1);
                }
                _ => return Ok(quantity),
            }
        }
    }

    /// factor [('**' | '^') power | power]
    fn term(&mut self) -> Result<Quantity, UnitError> {
        let base = self.factor()?;
        let power = if self.bytes[self.at..].starts_with(b"**") {
            self.at += 2;
            self.power()?
        } else if self.peek() == Some(b'^') {
            self.at += 1;
            self.power()?
        } else if matches!(self.peek(), Some(b'0'..=b'9' | b'+' | b'-')) {
            self.power()?
        } else {
            1
        };
        Ok(Quantity::one().times(&base, power))
    }

    fn power(&mut self) -> Result<i32, UnitError> {
        let parenthesised = self.peek() == Some(b'(');
        if parenthesised {
            self.at += 1;
        }
        let start = self.at;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.at += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let power = std::str::from_utf8(&self.bytes[start..self.at])
            .ok()
            .and_then(|digits| digits.trim_start_matches('+').parse().ok())
            .ok_or_else(|| self.syntax())?;
        if parenthesised {
            if self.peek() != Some(b')') {
                return Err(self.syntax());
            }
            self.at += 1;
        }
        Ok(power)
    }

    /// A number (a scale such as `10-3` or `1e-26`), a symbol, or a parenthesised product.
    fn factor(&mut self) -> Result<Quantity, UnitError> {
        match self.peek() {
            Some(b'(') => {
                self.at += 1;
                let inner = self.product()?;
                if self.peek() != Some(b')') {
                    return Err(self.syntax());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(b'0'..=b'9') => self.scale(),
            Some(c) if c.is_ascii_alphabetic() || c == b'%' => {
                let start = self.at;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphabetic() || c == b'%') {
                    self.at += 1;
                }
                let symbol = std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| self.syntax())?;
                symbol_quantity(symbol).ok_or_else(|| UnitError::Unknown(symbol.to_owned()))
            }
            _ => Err(self.syntax()),
        }
    }

    /// `10`, `10+3` or `10-3` (CDS: a power of ten), `1e-26`, `1.5`; a unit may follow
    /// directly (`10-3W`).
    fn scale(&mut self) -> Result<Quantity, UnitError> {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9' | b'.')) {
            self.at += 1;
        }
        let mantissa = std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| self.syntax())?;
        let mut value: f64 = mantissa.parse().map_err(|_| self.syntax())?;
        if matches!(self.peek(), Some(b'e' | b'E'))
            && matches!(self.bytes.get(self.at + 1), Some(b'+' | b'-' | b'0'..=b'9'))
        {
            self.at += 1;
            value *= 10f64.powi(self.power()?);
        } else if mantissa == "10" && matches!(self.peek(), Some(b'+' | b'-')) {
            value = 10f64.powi(self.power()?);
        }
        let mut quantity = Quantity { scale: value, dimension: BTreeMap::new() };
        if matches!(self.peek(), Some(c) if c.is_ascii_alphabetic()) {
            quantity = quantity.times(&self.term()?, 1);
        }
        Ok(quantity)
    }
}

fn symbol_quantity(symbol: &str) -> Option<Quantity> {
    let unit =
        |(scale, dimension): (f64, Dimension)| Quantity { scale, dimension: dimension.iter().copied().collect() };
    if let Some(&(_, scale, dimension, _)) = UNITS.iter().find(|(name, ..)| *name == symbol) {
        return Some(unit((scale, dimension)));
    }
    PREFIXES.iter().find_map(|&(prefix, factor)| {
        let rest = symbol.strip_prefix(prefix)?;
        let &(_, scale, dimension, prefixable) = UNITS.iter().find(|(name, ..)| *name == rest)?;
        prefixable.then(|| unit((scale * factor, dimension)))
    })
}

/// `in_unit(value, 'unit')`: DataFusion folds the unquoted ADQL name IN_UNIT to this.
pub fn in_unit_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(InUnit { signature: Signature::any(2, Volatility::Immutable) })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct InUnit {
    signature: Signature,
}

impl InUnit {
    /// The factor for a call, from the value's column metadata and the requested unit.
    fn factor(value: &Field, target: Option<&ScalarValue>) -> Result<(f64, String)> {
        let Some(ScalarValue::Utf8(Some(target)) | ScalarValue::Utf8View(Some(target))) = target else {
            return plan_err!("IN_UNIT takes a value and a unit string, as in IN_UNIT(pmra, 'deg/yr')");
        };
        if !value.data_type().is_numeric() {
            return plan_err!("IN_UNIT converts numbers, and {} is {}", value.name(), value.data_type());
        }
        let Some(source) = value.metadata().get(UNIT_KEY) else {
            return plan_err!("IN_UNIT: {} has no unit to convert from", value.name());
        };
        match conversion_factor(source, target) {
            Ok(factor) => Ok((factor, target.clone())),
            Err(error) => plan_err!("IN_UNIT: {error}"),
        }
    }
}

impl ScalarUDFImpl for InUnit {
    fn name(&self) -> &str {
        "in_unit"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let [value, _] = args.arg_fields else { return plan_err!("IN_UNIT takes two arguments") };
        let (_, target) = InUnit::factor(value, args.scalar_arguments.get(1).copied().flatten())?;
        let metadata = [(UNIT_KEY.to_owned(), target)].into_iter().collect();
        Ok(Arc::new(Field::new(self.name(), DataType::Float64, true).with_metadata(metadata)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let target = match args.args.get(1) {
            Some(ColumnarValue::Scalar(scalar)) => Some(scalar),
            _ => None,
        };
        let Some(value_field) = args.arg_fields.first() else { return exec_err!("IN_UNIT takes two arguments") };
        let (factor, _) = InUnit::factor(value_field, target)?;
        let rows = args.number_rows;
        let Some(value) = args.args.into_iter().next() else { return exec_err!("IN_UNIT takes two arguments") };
        let values = cast(&value.into_array(rows)?, &DataType::Float64)?;
        let Some(values) = values.as_any().downcast_ref::<Float64Array>() else {
            return exec_err!("IN_UNIT converts numbers");
        };
        let converted: Float64Array = values.iter().map(|v| v.map(|v| v * factor)).collect();
        Ok(ColumnarValue::Array(Arc::new(converted)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(from: &str, to: &str) -> f64 {
        conversion_factor(from, to).unwrap_or_else(|e| panic!("{from} → {to}: {e}"))
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    #[test]
    fn angles_times_and_velocities_convert() {
        assert!(close(factor("deg", "arcsec"), 3600.0));
        assert!(close(factor("mas", "deg"), 1.0 / 3.6e6));
        assert!(close(factor("mas/yr", "arcsec/yr"), 1e-3));
        assert!(close(factor("mas.yr**-1", "deg/a"), 1.0 / 3.6e6));
        assert!(close(factor("km/s", "m/s"), 1e3));
        assert!(close(factor("km.s-1", "m.s^-1"), 1e3));
        assert!(close(factor("kpc", "pc"), 1e3));
        assert!(close(factor("h", "min"), 60.0));
        assert!(close(factor("sr", "deg**2"), (180.0 / std::f64::consts::PI).powi(2)));
    }

    #[test]
    fn astronomical_fluxes_convert() {
        // 1 Jy = 1e-26 W m-2 Hz-1 = 1e-23 erg s-1 cm-2 Hz-1.
        assert!(close(factor("Jy", "W.m**-2.Hz**-1"), 1e-26));
        assert!(close(factor("mJy", "erg/s/cm2/Hz"), 1e-26));
        assert!(close(factor("10-3W/m2", "W/m2"), 1e-3));
        assert!(close(factor("mmag", "mag"), 1e-3));
        assert!(close(factor("%", ""), 0.01));
    }

    #[test]
    fn different_quantities_and_bad_units_are_refused() {
        assert!(matches!(conversion_factor("deg", "m"), Err(UnitError::Incompatible { .. })));
        assert!(matches!(conversion_factor("mag", "ct"), Err(UnitError::Incompatible { .. })));
        assert!(matches!(conversion_factor("furlong", "m"), Err(UnitError::Unknown(_))));
        assert!(matches!(conversion_factor("km/", "m"), Err(UnitError::Syntax(_))));
        assert!(matches!(conversion_factor("m**x", "m"), Err(UnitError::Syntax(_))));
    }
}

//! VOTable datatypes and arraysizes, and how they map to Arrow types.

use crate::error::{Result, VoTableError};
use arrow_schema::{DataType, Field as ArrowField};
use std::sync::Arc;

/// The primitive datatypes of VOTable 1.5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datatype {
    Boolean,
    Bit,
    UnsignedByte,
    Short,
    Int,
    Long,
    Char,
    UnicodeChar,
    Float,
    Double,
    FloatComplex,
    DoubleComplex,
}

impl Datatype {
    pub fn parse(text: &str) -> Option<Datatype> {
        Some(match text.trim() {
            "boolean" => Datatype::Boolean,
            "bit" => Datatype::Bit,
            "unsignedByte" => Datatype::UnsignedByte,
            "short" => Datatype::Short,
            "int" => Datatype::Int,
            "long" => Datatype::Long,
            // "string" and "unicodeString" are not VOTable datatypes, but real documents use
            // them for char and unicodeChar (astropy reads them so too).
            "char" | "string" => Datatype::Char,
            "unicodeChar" | "unicodeString" => Datatype::UnicodeChar,
            "float" => Datatype::Float,
            "double" => Datatype::Double,
            "floatComplex" => Datatype::FloatComplex,
            "doubleComplex" => Datatype::DoubleComplex,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Datatype::Boolean => "boolean",
            Datatype::Bit => "bit",
            Datatype::UnsignedByte => "unsignedByte",
            Datatype::Short => "short",
            Datatype::Int => "int",
            Datatype::Long => "long",
            Datatype::Char => "char",
            Datatype::UnicodeChar => "unicodeChar",
            Datatype::Float => "float",
            Datatype::Double => "double",
            Datatype::FloatComplex => "floatComplex",
            Datatype::DoubleComplex => "doubleComplex",
        }
    }

    /// Bytes per element in the BINARY serialisations (bits are packed separately).
    pub fn byte_size(self) -> usize {
        match self {
            Datatype::Boolean | Datatype::Bit | Datatype::UnsignedByte | Datatype::Char => 1,
            Datatype::Short | Datatype::UnicodeChar => 2,
            Datatype::Int | Datatype::Float => 4,
            Datatype::Long | Datatype::Double | Datatype::FloatComplex => 8,
            Datatype::DoubleComplex => 16,
        }
    }

    pub fn is_text(self) -> bool {
        matches!(self, Datatype::Char | Datatype::UnicodeChar)
    }

    /// The Arrow type of one element.
    fn element_type(self) -> DataType {
        match self {
            Datatype::Boolean | Datatype::Bit => DataType::Boolean,
            Datatype::UnsignedByte => DataType::UInt8,
            Datatype::Short => DataType::Int16,
            Datatype::Int => DataType::Int32,
            Datatype::Long => DataType::Int64,
            Datatype::Char | Datatype::UnicodeChar => DataType::Utf8,
            Datatype::Float => DataType::Float32,
            Datatype::Double => DataType::Float64,
            Datatype::FloatComplex => complex(DataType::Float32),
            Datatype::DoubleComplex => complex(DataType::Float64),
        }
    }
}

fn complex(part: DataType) -> DataType {
    DataType::FixedSizeList(Arc::new(ArrowField::new("item", part, false)), 2)
}

/// An `arraysize`: fixed dimensions, the last one possibly variable (`*` or `n*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArraySize {
    /// Every dimension but a variable last one, fastest-varying first.
    pub fixed: Vec<usize>,
    /// `Some(max)` when the last dimension is variable; `max` is the `n` of `n*`.
    pub variable: Option<Option<usize>>,
}

impl ArraySize {
    /// Parses `10`, `*`, `10*`, `2x3`, `2x3x*`. Dimensions above `max_elements` (and products
    /// above it) are refused: an absurd arraysize must not become an absurd allocation.
    pub fn parse(text: &str, max_elements: usize) -> Result<ArraySize, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty arraysize".to_owned());
        }
        let parts: Vec<&str> = text.split('x').collect();
        let mut fixed = Vec::new();
        let mut variable = None;
        for (i, part) in parts.iter().enumerate() {
            let part = part.trim();
            let last = i + 1 == parts.len();
            if let Some(max) = part.strip_suffix('*') {
                if !last {
                    return Err(format!("only the last dimension may be variable in {text:?}"));
                }
                variable = Some(if max.is_empty() {
                    None
                } else {
                    Some(max.parse::<usize>().map_err(|_| format!("bad dimension {part:?} in {text:?}"))?)
                });
            } else {
                let n: usize = part.parse().map_err(|_| format!("bad dimension {part:?} in {text:?}"))?;
                fixed.push(n);
            }
        }
        let product = fixed.iter().try_fold(1usize, |acc, &n| acc.checked_mul(n));
        match product {
            Some(p) if p <= max_elements => {}
            _ => return Err(format!("arraysize {text:?} exceeds the limit of {max_elements} elements")),
        }
        if let Some(Some(max)) = variable
            && max > max_elements
        {
            return Err(format!("arraysize {text:?} exceeds the limit of {max_elements} elements"));
        }
        Ok(ArraySize { fixed, variable })
    }

    /// The number of elements of a fixed-size array.
    pub fn fixed_count(&self) -> usize {
        self.fixed.iter().product()
    }
}

/// How the values of one column are laid out, derived from datatype and arraysize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One value per row (for text: one string).
    Scalar,
    /// A fixed number of elements per row (for text: of strings).
    Fixed(usize),
    /// A variable number per row; for text, the number of strings is variable.
    Variable,
}

/// The layout of a column: its element type, shape, and for text the fixed string length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub datatype: Datatype,
    pub shape: Shape,
    /// Text only: characters per string when fixed, `None` when variable.
    pub string_length: Option<usize>,
    /// Elements (not bytes) per row in a fixed layout; bits for `bit`.
    pub fixed_elements: Option<usize>,
}

impl Layout {
    pub fn new(datatype: Datatype, arraysize: Option<&ArraySize>) -> Layout {
        match (datatype.is_text(), arraysize) {
            (_, None) => Layout { datatype, shape: Shape::Scalar, string_length: Some(1), fixed_elements: Some(1) },
            // The first dimension of a text array is the string's length.
            (true, Some(size)) => {
                let dims: Vec<usize> = size.fixed.clone();
                match (dims.split_first(), size.variable) {
                    // `*` or `n*`: one string of any length, or of at most n characters.
                    (None, max) => {
                        Layout { datatype, shape: Shape::Scalar, string_length: max.flatten(), fixed_elements: None }
                    }
                    (Some((&length, [])), None) => Layout {
                        datatype,
                        shape: Shape::Scalar,
                        string_length: Some(length),
                        fixed_elements: Some(length),
                    },
                    (Some((&length, rest)), None) => {
                        let count = rest.iter().product();
                        Layout {
                            datatype,
                            shape: Shape::Fixed(count),
                            string_length: Some(length),
                            fixed_elements: Some(length * count),
                        }
                    }
                    (Some((&length, _)), Some(_)) => {
                        Layout { datatype, shape: Shape::Variable, string_length: Some(length), fixed_elements: None }
                    }
                }
            }
            (false, Some(size)) => match size.variable {
                None => Layout {
                    datatype,
                    shape: Shape::Fixed(size.fixed_count()),
                    string_length: None,
                    fixed_elements: Some(size.fixed_count()),
                },
                Some(_) => Layout { datatype, shape: Shape::Variable, string_length: None, fixed_elements: None },
            },
        }
    }

    /// Elements per variable-length step: the product of the fixed dimensions before `*`
    /// (for text, those after the string length).
    pub fn arrow_type(&self) -> DataType {
        let element = self.datatype.element_type();
        match self.shape {
            Shape::Scalar => element,
            Shape::Fixed(n) => DataType::FixedSizeList(
                Arc::new(ArrowField::new("item", element, true)),
                i32::try_from(n).unwrap_or(i32::MAX),
            ),
            Shape::Variable => DataType::List(Arc::new(ArrowField::new("item", element, true))),
        }
    }
}

/// Checks a datatype name, naming the element that carried it.
pub fn parse_datatype(element: &'static str, name: &str, text: Option<&str>) -> Result<Datatype> {
    let text = text.ok_or_else(|| VoTableError::BadDefinition {
        element,
        name: name.to_owned(),
        message: "no datatype".to_owned(),
    })?;
    Datatype::parse(text).ok_or_else(|| VoTableError::BadDefinition {
        element,
        name: name.to_owned(),
        message: format!("unknown datatype {text:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arraysizes() {
        assert_eq!(ArraySize::parse("10", 1000), Ok(ArraySize { fixed: vec![10], variable: None }));
        assert_eq!(ArraySize::parse("*", 1000), Ok(ArraySize { fixed: vec![], variable: Some(None) }));
        assert_eq!(ArraySize::parse("8*", 1000), Ok(ArraySize { fixed: vec![], variable: Some(Some(8)) }));
        assert_eq!(ArraySize::parse("2x3x*", 1000), Ok(ArraySize { fixed: vec![2, 3], variable: Some(None) }));
        assert!(ArraySize::parse("*x2", 1000).is_err());
        assert!(ArraySize::parse("100000x100000", 1_000_000).unwrap_err().contains("exceeds the limit"));
        assert!(ArraySize::parse("99999999999999999999999", 1000).is_err());
    }

    #[test]
    fn layouts() {
        let text = |s: &str| Layout::new(Datatype::Char, Some(&ArraySize::parse(s, 1000).unwrap()));
        assert_eq!(text("10").shape, Shape::Scalar);
        assert_eq!(text("*").shape, Shape::Scalar);
        assert_eq!(text("10x3").shape, Shape::Fixed(3));
        assert_eq!(text("10x*").shape, Shape::Variable);
        assert_eq!(Layout::new(Datatype::Int, None).shape, Shape::Scalar);
        assert_eq!(Layout::new(Datatype::Double, Some(&ArraySize::parse("2x3", 100).unwrap())).shape, Shape::Fixed(6));
    }
}

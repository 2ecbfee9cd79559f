//! Column builders: values read from TABLEDATA text or BINARY bytes, gathered into Arrow
//! arrays one batch at a time.

use crate::datatype::{Datatype, Layout, Shape};
use arrow_array::{
    ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array,
    ListArray, StringArray, UInt8Array,
};
use arrow_buffer::{BooleanBuffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field as ArrowField};
use std::sync::Arc;

/// Flat element storage; complex numbers take two slots.
enum Store {
    Bool(Vec<bool>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    /// Strings: end offsets into `bytes`.
    Text {
        ends: Vec<i32>,
        bytes: Vec<u8>,
    },
}

pub(crate) struct ColumnBuilder {
    layout: Layout,
    /// The VALUES null sentinel of integer columns.
    null_integer: Option<i64>,
    /// The VALUES null sentinel of text columns.
    null_text: Option<String>,
    store: Store,
    /// Element offsets per row, for variable shapes (strings for text arrays).
    offsets: Vec<i32>,
    validity: Vec<bool>,
    max_elements: usize,
}

/// The arraysize limit keeps counts well inside i32 offsets.
const OFFSET_LIMIT: usize = i32::MAX as usize;

impl ColumnBuilder {
    pub(crate) fn new(layout: Layout, null: Option<&str>, max_elements: usize) -> ColumnBuilder {
        let store = match layout.datatype {
            Datatype::Boolean | Datatype::Bit => Store::Bool(Vec::new()),
            Datatype::UnsignedByte => Store::U8(Vec::new()),
            Datatype::Short => Store::I16(Vec::new()),
            Datatype::Int => Store::I32(Vec::new()),
            Datatype::Long => Store::I64(Vec::new()),
            Datatype::Float | Datatype::FloatComplex => Store::F32(Vec::new()),
            Datatype::Double | Datatype::DoubleComplex => Store::F64(Vec::new()),
            Datatype::Char | Datatype::UnicodeChar => Store::Text { ends: Vec::new(), bytes: Vec::new() },
        };
        let null_integer = null.and_then(|n| parse_integer(n.trim()));
        let null_text = if layout.datatype.is_text() { null.map(str::to_owned) } else { None };
        ColumnBuilder {
            layout,
            null_integer,
            null_text,
            store,
            offsets: vec![0],
            validity: Vec::new(),
            max_elements: max_elements.min(OFFSET_LIMIT),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.validity.len()
    }

    /// Components per element: 2 for complex numbers.
    fn components(&self) -> usize {
        match self.layout.datatype {
            Datatype::FloatComplex | Datatype::DoubleComplex => 2,
            _ => 1,
        }
    }

    /// Elements per row of a fixed shape (strings for text).
    fn fixed_count(&self) -> usize {
        match self.layout.shape {
            Shape::Scalar => 1,
            Shape::Fixed(n) => n,
            Shape::Variable => 0,
        }
    }

    fn store_len(&self) -> usize {
        match &self.store {
            Store::Bool(v) => v.len(),
            Store::U8(v) => v.len(),
            Store::I16(v) => v.len(),
            Store::I32(v) => v.len(),
            Store::I64(v) => v.len(),
            Store::F32(v) => v.len(),
            Store::F64(v) => v.len(),
            Store::Text { ends, .. } => ends.len(),
        }
    }

    fn push_default_elements(&mut self, count: usize) {
        let slots = count * self.components();
        match &mut self.store {
            Store::Bool(v) => v.resize(v.len() + slots, false),
            Store::U8(v) => v.resize(v.len() + slots, 0),
            Store::I16(v) => v.resize(v.len() + slots, 0),
            Store::I32(v) => v.resize(v.len() + slots, 0),
            Store::I64(v) => v.resize(v.len() + slots, 0),
            Store::F32(v) => v.resize(v.len() + slots, f32::NAN),
            Store::F64(v) => v.resize(v.len() + slots, f64::NAN),
            Store::Text { ends, bytes } => {
                let end = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
                ends.resize(ends.len() + count, end);
            }
        }
    }

    fn end_row(&mut self, valid: bool) {
        if self.layout.shape == Shape::Variable {
            let elements =
                self.store_len() / if matches!(self.store, Store::Text { .. }) { 1 } else { self.components() };
            self.offsets.push(i32::try_from(elements).unwrap_or(i32::MAX));
        }
        self.validity.push(valid);
    }

    pub(crate) fn push_null(&mut self) {
        let count = self.fixed_count();
        self.push_default_elements(count);
        self.end_row(false);
    }

    fn push_string(&mut self, text: &str) -> Result<(), String> {
        let Store::Text { ends, bytes } = &mut self.store else {
            return Err("internal: not a text column".to_owned());
        };
        bytes.extend_from_slice(text.as_bytes());
        let end = i32::try_from(bytes.len()).map_err(|_| "more than 2 GiB of text in one batch".to_owned())?;
        ends.push(end);
        Ok(())
    }

    /// One TABLEDATA cell. A value that cannot be read becomes null, and the reason is
    /// returned for the reader's diagnostics: real service output has such cells.
    pub(crate) fn push_text(&mut self, cell: &str) -> Option<String> {
        let (elements, offsets, rows) = (self.store_len(), self.offsets.len(), self.validity.len());
        let text_bytes = match &self.store {
            Store::Text { bytes, .. } => bytes.len(),
            _ => 0,
        };
        match self.push_text_strict(cell) {
            Ok(()) => None,
            Err(message) => {
                self.truncate(elements, text_bytes);
                self.offsets.truncate(offsets);
                self.validity.truncate(rows);
                self.push_null();
                Some(message)
            }
        }
    }

    fn truncate(&mut self, elements: usize, text_bytes: usize) {
        match &mut self.store {
            Store::Bool(v) => v.truncate(elements),
            Store::U8(v) => v.truncate(elements),
            Store::I16(v) => v.truncate(elements),
            Store::I32(v) => v.truncate(elements),
            Store::I64(v) => v.truncate(elements),
            Store::F32(v) => v.truncate(elements),
            Store::F64(v) => v.truncate(elements),
            Store::Text { ends, bytes } => {
                ends.truncate(elements);
                bytes.truncate(text_bytes);
            }
        }
    }

    fn push_text_strict(&mut self, cell: &str) -> Result<(), String> {
        let layout = self.layout.clone();
        if layout.datatype.is_text() {
            return self.push_text_cell(cell, &layout);
        }
        let trimmed = cell.trim();
        if layout.shape == Shape::Scalar {
            // Empty cells are null by the standard; "null" and "--" are what some services
            // (IRSA among them) write instead.
            if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("null") || trimmed == "--" {
                self.push_null();
                return Ok(());
            }
            if self.components() == 2 {
                // A complex number is two floats; a NaN in either part is the null value.
                let mut parts = trimmed.split_whitespace();
                let (Some(re), Some(im), None) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(format!("{trimmed:?} is not a complex number (two floats)"));
                };
                let (re, im) = (parse_float(re), parse_float(im));
                let (Some(re), Some(im)) = (re, im) else {
                    return Err(format!("{trimmed:?} is not a complex number (two floats)"));
                };
                self.push_float_text_value(re)?;
                self.push_float_text_value(im)?;
                self.end_row(!re.is_nan() && !im.is_nan());
                return Ok(());
            }
            let valid = self.push_element_text(trimmed)?;
            self.end_row(valid);
            return Ok(());
        }
        // An empty cell is null, arrays included (VOTable 1.3, section 6.1).
        if trimmed.is_empty() {
            self.push_null();
            return Ok(());
        }
        let mut count = 0usize;
        // A fixed-size array whose every element is a null value (NaN, the VALUES null, ?)
        // is a null cell, as astropy and STILTS read it.
        let mut any_element_valid = false;
        if layout.datatype == Datatype::Bit {
            any_element_valid = true;
            for c in trimmed.chars().filter(|c| !c.is_whitespace()) {
                let bit = match c {
                    '0' => false,
                    '1' => true,
                    _ => return Err(format!("{c:?} is not a bit")),
                };
                if let Store::Bool(v) = &mut self.store {
                    v.push(bit);
                }
                count += 1;
            }
        } else {
            let mut tokens = trimmed.split_whitespace();
            let components = self.components();
            while let Some(first) = tokens.next() {
                if components == 2 {
                    let second =
                        tokens.next().ok_or_else(|| format!("complex number {first:?} lacks its imaginary part"))?;
                    let re_valid = self.push_float_text(first)?;
                    let im_valid = self.push_float_text(second)?;
                    any_element_valid |= re_valid || im_valid;
                } else {
                    any_element_valid |= self.push_element_text(first)?;
                }
                count += 1;
                if count > self.max_elements {
                    return Err(format!("more than {} elements", self.max_elements));
                }
            }
        }
        self.finish_array_row(count, any_element_valid)
    }

    /// Pads a short fixed array, refuses a long one, and closes the row; a fixed array of
    /// null elements only is a null cell.
    fn finish_array_row(&mut self, count: usize, any_element_valid: bool) -> Result<(), String> {
        let valid = match self.layout.shape {
            Shape::Fixed(n) if count > n => return Err(format!("{count} elements where the arraysize allows {n}")),
            Shape::Fixed(n) => {
                if count < n {
                    self.push_default_elements(n - count);
                }
                any_element_valid || n == 0 || self.layout.datatype.is_text()
            }
            _ => true,
        };
        self.end_row(valid);
        Ok(())
    }

    fn push_text_cell(&mut self, cell: &str, layout: &Layout) -> Result<(), String> {
        match layout.shape {
            Shape::Scalar => {
                if self.null_text.as_deref() == Some(cell) {
                    self.push_null();
                    return Ok(());
                }
                // A string is at most as long as its arraysize says (`10` or `10*`).
                let cell = match layout.string_length {
                    Some(length) => cell.char_indices().nth(length).map_or(cell, |(end, _)| &cell[..end]),
                    None => cell,
                };
                self.push_string(cell)?;
                self.end_row(true);
                Ok(())
            }
            Shape::Fixed(_) | Shape::Variable => {
                // An array of strings is written as one run of characters, string after string.
                let length = layout.string_length.unwrap_or(usize::MAX).max(1);
                let chars: Vec<char> = cell.chars().collect();
                let mut count = 0;
                for chunk in chars.chunks(length) {
                    let piece: String = chunk.iter().collect();
                    self.push_string(piece.trim_end_matches('\0'))?;
                    count += 1;
                }
                self.finish_array_row(count, true)
            }
        }
    }

    /// Pushes one float; returns false when it is NaN (a null element).
    fn push_float_text(&mut self, token: &str) -> Result<bool, String> {
        let value: f64 = parse_float(token).ok_or_else(|| format!("{token:?} is not a number"))?;
        self.push_float_text_value(value)?;
        Ok(!value.is_nan())
    }

    fn push_float_text_value(&mut self, value: f64) -> Result<(), String> {
        match &mut self.store {
            Store::F32(v) => v.push(value as f32),
            Store::F64(v) => v.push(value),
            _ => return Err("internal: not a float column".to_owned()),
        }
        Ok(())
    }

    /// Pushes one element parsed from text; returns false when it is a null sentinel.
    fn push_element_text(&mut self, token: &str) -> Result<bool, String> {
        let null_integer = self.null_integer;
        let complex = self.components() == 2;
        let bad = || format!("{token:?} is not a valid {}", "value");
        match &mut self.store {
            Store::Bool(v) => {
                let value = match token.to_ascii_lowercase().as_str() {
                    "t" | "true" | "1" => Some(true),
                    "f" | "false" | "0" => Some(false),
                    "?" => None,
                    _ => return Err(format!("{token:?} is not a boolean")),
                };
                v.push(value.unwrap_or(false));
                Ok(value.is_some())
            }
            Store::F32(_) | Store::F64(_) if complex => Err("internal: complex".to_owned()),
            Store::F32(v) => {
                let value = parse_float(token).ok_or_else(bad)? as f32;
                v.push(value);
                Ok(!value.is_nan())
            }
            Store::F64(v) => {
                let value = parse_float(token).ok_or_else(bad)?;
                v.push(value);
                Ok(!value.is_nan())
            }
            Store::U8(v) => {
                let value = parse_integer(token).ok_or_else(bad)?;
                v.push(u8::try_from(value).map_err(|_| format!("{token} is out of range for unsignedByte"))?);
                Ok(null_integer != Some(value))
            }
            Store::I16(v) => {
                let value = parse_integer(token).ok_or_else(bad)?;
                v.push(i16::try_from(value).map_err(|_| format!("{token} is out of range for short"))?);
                Ok(null_integer != Some(value))
            }
            Store::I32(v) => {
                let value = parse_integer(token).ok_or_else(bad)?;
                v.push(i32::try_from(value).map_err(|_| format!("{token} is out of range for int"))?);
                Ok(null_integer != Some(value))
            }
            Store::I64(v) => {
                let value = parse_integer(token).ok_or_else(bad)?;
                v.push(value);
                Ok(null_integer != Some(value))
            }
            Store::Text { .. } => Err("internal: text".to_owned()),
        }
    }

    /// Bytes this column takes at the start of `data` in a BINARY row, or `None` if `data`
    /// is too short to tell.
    pub(crate) fn binary_len(&self, data: &[u8]) -> Result<Option<usize>, String> {
        let element_bytes = self.layout.datatype.byte_size();
        let per_count = |count: usize| -> usize {
            if self.layout.datatype == Datatype::Bit { count.div_ceil(8) } else { count * element_bytes }
        };
        match self.layout.fixed_elements {
            Some(count) => Ok(Some(per_count(count))),
            None => {
                let Some(prefix) = data.get(..4) else { return Ok(None) };
                let count = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
                // For a variable array of fixed-length strings the count is in characters.
                if count > self.max_elements.saturating_mul(self.layout.string_length.unwrap_or(1).max(1)) {
                    return Err(format!("a variable-length array claims {count} elements"));
                }
                Ok(Some(4 + per_count(count)))
            }
        }
    }

    /// One BINARY cell: exactly the bytes [`binary_len`] measured.
    pub(crate) fn push_binary(&mut self, cell: &[u8], flagged_null: bool) -> Result<(), String> {
        let datatype = self.layout.datatype;
        let (count_in_cell, body) = match self.layout.fixed_elements {
            Some(count) => (count, cell),
            None => {
                let body = cell.get(4..).unwrap_or(&[]);
                let count = if datatype == Datatype::Bit { body.len() * 8 } else { body.len() / datatype.byte_size() };
                let declared = cell.get(..4).map_or(0, |p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize);
                (declared.min(count), body)
            }
        };
        if flagged_null {
            self.push_null();
            return Ok(());
        }
        if self.layout.shape == Shape::Scalar && self.push_binary_scalar(cell) {
            return Ok(());
        }
        if datatype.is_text() {
            let text = decode_text(datatype, body);
            return self.push_text_cell_binary(&text);
        }
        if datatype == Datatype::Bit {
            if let Store::Bool(v) = &mut self.store {
                for i in 0..count_in_cell {
                    let byte = body.get(i / 8).copied().unwrap_or(0);
                    v.push(byte & (0x80 >> (i % 8)) != 0);
                }
            }
            return self.finish_binary_row(count_in_cell, true);
        }
        let components = self.components();
        let mut valid = true;
        let mut any_element_valid = false;
        let size = datatype.byte_size() / components;
        let null_integer = self.null_integer;
        let scalar = self.layout.shape == Shape::Scalar;
        for chunk in body.chunks_exact(size).take(count_in_cell * components) {
            let element_valid = match &mut self.store {
                Store::Bool(v) => {
                    let value = match chunk[0] {
                        b'T' | b't' | b'1' => Some(true),
                        b'F' | b'f' | b'0' => Some(false),
                        _ => None,
                    };
                    v.push(value.unwrap_or(false));
                    value.is_some()
                }
                Store::U8(v) => {
                    v.push(chunk[0]);
                    null_integer != Some(i64::from(chunk[0]))
                }
                Store::I16(v) => {
                    let x = i16::from_be_bytes([chunk[0], chunk[1]]);
                    v.push(x);
                    null_integer != Some(i64::from(x))
                }
                Store::I32(v) => {
                    let x = i32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    v.push(x);
                    null_integer != Some(i64::from(x))
                }
                Store::I64(v) => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(chunk);
                    let x = i64::from_be_bytes(b);
                    v.push(x);
                    null_integer != Some(x)
                }
                Store::F32(v) => {
                    let x = f32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    v.push(x);
                    !x.is_nan()
                }
                Store::F64(v) => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(chunk);
                    let x = f64::from_be_bytes(b);
                    v.push(x);
                    !x.is_nan()
                }
                Store::Text { .. } => true,
            };
            // Only a scalar's own sentinel makes the row null; arrays keep their elements.
            // A complex scalar is null when either part is NaN.
            if scalar {
                valid = if components == 1 { element_valid } else { valid && element_valid };
            }
            any_element_valid |= element_valid;
        }
        // A fixed-size array of null elements only is a null cell.
        if let Shape::Fixed(n) = self.layout.shape
            && n > 0
            && !any_element_valid
        {
            valid = false;
        }
        self.finish_binary_row(count_in_cell, valid)
    }

    /// The common case, one number per cell, without the general element loop. Returns false
    /// for the cells it does not handle.
    fn push_binary_scalar(&mut self, cell: &[u8]) -> bool {
        let null_integer = self.null_integer;
        let valid = match (&mut self.store, cell) {
            (Store::F64(v), &[a, b, c, d, e, f, g, h]) if self.layout.datatype == Datatype::Double => {
                let x = f64::from_be_bytes([a, b, c, d, e, f, g, h]);
                v.push(x);
                !x.is_nan()
            }
            (Store::F32(v), &[a, b, c, d]) if self.layout.datatype == Datatype::Float => {
                let x = f32::from_be_bytes([a, b, c, d]);
                v.push(x);
                !x.is_nan()
            }
            (Store::I32(v), &[a, b, c, d]) => {
                let x = i32::from_be_bytes([a, b, c, d]);
                v.push(x);
                null_integer != Some(i64::from(x))
            }
            (Store::I64(v), &[a, b, c, d, e, f, g, h]) => {
                let x = i64::from_be_bytes([a, b, c, d, e, f, g, h]);
                v.push(x);
                null_integer != Some(x)
            }
            (Store::I16(v), &[a, b]) => {
                let x = i16::from_be_bytes([a, b]);
                v.push(x);
                null_integer != Some(i64::from(x))
            }
            _ => return false,
        };
        self.validity.push(valid);
        true
    }

    fn finish_binary_row(&mut self, count: usize, valid: bool) -> Result<(), String> {
        if let Shape::Fixed(n) = self.layout.shape
            && count < n
        {
            self.push_default_elements(n - count);
        }
        self.end_row(valid);
        Ok(())
    }

    fn push_text_cell_binary(&mut self, text: &str) -> Result<(), String> {
        let layout = self.layout.clone();
        match layout.shape {
            // Fixed-length strings are padded with NULs (and often blanks) in BINARY.
            Shape::Scalar => self.push_text_cell(text.split('\0').next().unwrap_or(""), &layout),
            _ => self.push_text_cell(text, &layout),
        }
    }

    /// The rows gathered so far as one Arrow array; the builder starts over empty.
    pub(crate) fn finish(&mut self, field: &ArrowField) -> Result<ArrayRef, arrow_schema::ArrowError> {
        let validity = std::mem::take(&mut self.validity);
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let nulls = if validity.iter().all(|v| *v) { None } else { Some(NullBuffer::from(validity)) };
        let components = self.components();
        let empty = empty_like(&self.store);
        let store = std::mem::replace(&mut self.store, empty);
        let elements: ArrayRef = match store {
            Store::Bool(v) => Arc::new(BooleanArray::new(BooleanBuffer::from(v), None)),
            Store::U8(v) => Arc::new(UInt8Array::new(ScalarBuffer::from(v), None)),
            Store::I16(v) => Arc::new(Int16Array::new(ScalarBuffer::from(v), None)),
            Store::I32(v) => Arc::new(Int32Array::new(ScalarBuffer::from(v), None)),
            Store::I64(v) => Arc::new(Int64Array::new(ScalarBuffer::from(v), None)),
            Store::F32(v) => Arc::new(Float32Array::new(ScalarBuffer::from(v), None)),
            Store::F64(v) => Arc::new(Float64Array::new(ScalarBuffer::from(v), None)),
            Store::Text { mut ends, bytes } => {
                ends.insert(0, 0);
                let offsets = OffsetBuffer::new(ScalarBuffer::from(ends));
                Arc::new(StringArray::try_new(offsets, bytes.into(), None)?)
            }
        };
        let elements: ArrayRef = if components == 2 {
            let part = match self.layout.datatype {
                Datatype::FloatComplex => DataType::Float32,
                _ => DataType::Float64,
            };
            Arc::new(FixedSizeListArray::try_new(Arc::new(ArrowField::new("item", part, false)), 2, elements, None)?)
        } else {
            elements
        };
        let item = |data_type: &DataType| -> Arc<ArrowField> {
            match data_type {
                DataType::FixedSizeList(f, _) | DataType::List(f) => f.clone(),
                _ => Arc::new(ArrowField::new("item", elements.data_type().clone(), true)),
            }
        };
        Ok(match self.layout.shape {
            Shape::Scalar => match (nulls, components) {
                (None, _) => elements,
                (Some(nulls), _) => {
                    arrow_array::make_array(elements.to_data().into_builder().nulls(Some(nulls)).build()?)
                }
            },
            Shape::Fixed(n) => Arc::new(FixedSizeListArray::try_new(
                item(field.data_type()),
                i32::try_from(n).unwrap_or(i32::MAX),
                elements,
                nulls,
            )?),
            Shape::Variable => Arc::new(ListArray::try_new(
                item(field.data_type()),
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                elements,
                nulls,
            )?),
        })
    }
}

fn empty_like(store: &Store) -> Store {
    match store {
        Store::Bool(_) => Store::Bool(Vec::new()),
        Store::U8(_) => Store::U8(Vec::new()),
        Store::I16(_) => Store::I16(Vec::new()),
        Store::I32(_) => Store::I32(Vec::new()),
        Store::I64(_) => Store::I64(Vec::new()),
        Store::F32(_) => Store::F32(Vec::new()),
        Store::F64(_) => Store::F64(Vec::new()),
        Store::Text { .. } => Store::Text { ends: Vec::new(), bytes: Vec::new() },
    }
}

/// `char` is ASCII in the standard and Latin-1 in practice; `unicodeChar` is UCS-2 big-endian.
fn decode_text(datatype: Datatype, bytes: &[u8]) -> String {
    match datatype {
        Datatype::UnicodeChar => {
            let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        _ => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Integers as VOTable writes them: decimal, or hexadecimal with 0x.
fn parse_integer(text: &str) -> Option<i64> {
    let text = text.trim();
    // Plain decimal is nearly every value: parse it directly.
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        i128::from_str_radix(hex, 16).ok()?
    } else {
        digits.parse::<i128>().ok()?
    };
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// Floats as VOTable writes them, including NaN, Inf, +Inf, -Inf.
fn parse_float(text: &str) -> Option<f64> {
    if let Ok(value) = text.parse::<f64>() {
        return Some(value);
    }
    let text = text.trim();
    match text {
        "NaN" | "nan" | "NAN" => Some(f64::NAN),
        "Inf" | "+Inf" | "inf" | "+inf" | "INF" | "Infinity" => Some(f64::INFINITY),
        "-Inf" | "-inf" | "-INF" | "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_floats() {
        assert_eq!(parse_integer("0x7F"), Some(127));
        assert_eq!(parse_integer("-12"), Some(-12));
        assert_eq!(parse_integer("9223372036854775808"), None);
        assert!(parse_float("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_float("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("1e3"), Some(1000.0));
        assert_eq!(parse_float("x"), None);
    }
}

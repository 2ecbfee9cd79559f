//! The streaming reader: XML events in, table metadata and Arrow record batches out.
//!
//! Row data never has to fit in memory: TABLEDATA rows and BINARY/BINARY2 streams are decoded
//! as they arrive and handed out `batch_rows` rows at a time. The metadata tree is small and
//! is kept whole; [`VoTableReader::finish`] returns it.

use crate::column::ColumnBuilder;
use crate::datatype::{ArraySize, parse_datatype};
use crate::error::{Result, VoTableError};
use crate::model::{CooSys, Document, Field, Group, Info, Link, Param, Resource, Table, TimeSys, Values, VoTable};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use base64::Engine as _;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use std::collections::VecDeque;
use std::io::BufRead;

/// Limits and batch size. The defaults suit files on the user's disk; servers reading
/// uploads should lower `max_document_bytes`.
#[derive(Clone, Debug)]
pub struct ReaderOptions {
    /// Rows per record batch.
    pub batch_rows: usize,
    /// Largest number of elements one array value (or arraysize) may declare.
    pub max_array_elements: usize,
    /// Largest text of one element (a TD, a DESCRIPTION, …), in bytes.
    pub max_text_bytes: usize,
    /// Largest document, in bytes of XML.
    pub max_document_bytes: u64,
}

impl Default for ReaderOptions {
    fn default() -> ReaderOptions {
        ReaderOptions {
            batch_rows: 65_536,
            max_array_elements: 1 << 24,
            max_text_bytes: 64 << 20,
            max_document_bytes: u64::MAX,
        }
    }
}

/// What the reader hands out, in document order.
#[derive(Debug)]
pub enum Event {
    /// A table's definition is complete and its rows follow.
    TableStart { table: Box<Table>, schema: SchemaRef },
    /// Up to `batch_rows` rows of the table with this index.
    Batch { table: usize, batch: RecordBatch },
    /// The table's rows are over.
    TableEnd { table: usize },
}

/// Reads a whole document into memory.
pub fn read_votable(bytes: &[u8]) -> Result<VoTable> {
    read_votable_with(bytes, ReaderOptions::default())
}

pub fn read_votable_with(bytes: &[u8], options: ReaderOptions) -> Result<VoTable> {
    let mut reader = VoTableReader::with_options(bytes, options);
    let mut batches: Vec<Vec<RecordBatch>> = Vec::new();
    while let Some(event) = reader.next_event()? {
        match event {
            Event::TableStart { table, .. } => {
                if batches.len() <= table.index {
                    batches.resize_with(table.index + 1, Vec::new);
                }
            }
            Event::Batch { table, batch } => {
                if let Some(list) = batches.get_mut(table) {
                    list.push(batch);
                }
            }
            Event::TableEnd { .. } => {}
        }
    }
    while reader.next_event()?.is_some() {}
    let (diagnostics, diagnostic_count) = reader.diagnostics();
    let (diagnostics, diagnostic_count) = (diagnostics.to_vec(), diagnostic_count);
    Ok(VoTable { meta: reader.finish()?, batches, diagnostics, diagnostic_count })
}

/// An element that is open, with what it has gathered so far.
enum Open {
    VoTable,
    Resource(Box<Resource>),
    Table(Box<TableState>),
    Field(Box<Field>),
    Param(Box<Param>),
    Values(Values),
    Info(Info),
    Description,
    Definitions,
    CooSys(CooSys),
    TimeSys(TimeSys),
    Group(Box<Group>),
    Link(Link),
    Data,
    TableData,
    Binary,
    Stream,
    /// Anything else (MIN, MAX, OPTION, FIELDref… handled at their start; unknown elements).
    Other,
}

#[derive(Default)]
struct TableState {
    meta: Table,
    /// Set when the definition is complete (at DATA, or at the end of a TABLE without data).
    started: bool,
    columns: Vec<ColumnBuilder>,
    schema: Option<SchemaRef>,
    /// TABLEDATA: the text of the row's cells, one after the other, and where each ends.
    /// Bytes here; the row is checked to be UTF-8 once, when it is complete.
    cell_text: Vec<u8>,
    cell_ends: Vec<usize>,
    /// BINARY/BINARY2: undecoded base64 characters and decoded bytes not yet used.
    base64_pending: Vec<u8>,
    bytes: Vec<u8>,
    consumed: usize,
    binary2: bool,
    rows: usize,
    rows_in_batch: usize,
    cell_lengths: Vec<usize>,
}

pub struct VoTableReader<R: BufRead> {
    xml: quick_xml::Reader<R>,
    buffer: Vec<u8>,
    options: ReaderOptions,
    document: Document,
    stack: Vec<Open>,
    text: String,
    pending: VecDeque<Event>,
    tables_seen: usize,
    seen_root: bool,
    done: bool,
    diagnostics: Vec<Diagnostic>,
    diagnostic_count: usize,
    /// Definitions other elements may point to with `ref`: tables' fields, VALUES.
    fields_by_table_id: std::collections::HashMap<String, Vec<Field>>,
    values_by_id: std::collections::HashMap<String, Values>,
    pending_values_id: Option<String>,
    /// Names of the open elements that quick-xml reported, to check end tags.
    names: Vec<String>,
    /// Bytes read by `read_tabledata` behind quick-xml's back.
    bypassed: u64,
    /// `read_tabledata`'s scratch buffers.
    scan_text: Vec<u8>,
    scan_tag: Vec<u8>,
}

/// A cell that could not be read and was taken as null.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub table: usize,
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// Diagnostics kept in full; beyond this only the count grows.
const MAX_DIAGNOSTICS: usize = 100;

impl<R: BufRead> VoTableReader<R> {
    pub fn new(input: R) -> VoTableReader<R> {
        VoTableReader::with_options(input, ReaderOptions::default())
    }

    pub fn with_options(input: R, options: ReaderOptions) -> VoTableReader<R> {
        let mut xml = quick_xml::Reader::from_reader(input);
        xml.config_mut().trim_text(false);
        // End tags are checked against our own stack, which also covers the TABLEDATA that
        // `read_tabledata` reads past quick-xml.
        xml.config_mut().check_end_names = false;
        VoTableReader {
            xml,
            buffer: Vec::new(),
            options,
            document: Document::default(),
            stack: Vec::new(),
            text: String::new(),
            pending: VecDeque::new(),
            tables_seen: 0,
            seen_root: false,
            done: false,
            diagnostics: Vec::new(),
            diagnostic_count: 0,
            fields_by_table_id: Default::default(),
            values_by_id: Default::default(),
            pending_values_id: None,
            names: Vec::new(),
            bypassed: 0,
            scan_text: Vec::new(),
            scan_tag: Vec::new(),
        }
    }

    /// The next table start, batch or table end; `None` at the end of the document.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if self.done {
                return Ok(None);
            }
            self.step()?;
        }
    }

    /// The document's metadata, once every event has been read.
    pub fn finish(mut self) -> Result<Document> {
        while self.next_event()?.is_some() {}
        Ok(std::mem::take(&mut self.document))
    }

    /// The first cells that could not be read (and were taken as null), and how many there
    /// were in all.
    pub fn diagnostics(&self) -> (&[Diagnostic], usize) {
        (&self.diagnostics, self.diagnostic_count)
    }

    /// Bytes of the document read so far, by quick-xml and by `read_tabledata`.
    fn position(&self) -> u64 {
        self.xml.buffer_position() + self.bypassed
    }

    fn xml_error(&self, message: impl std::fmt::Display) -> VoTableError {
        VoTableError::Xml { position: self.position(), message: message.to_string() }
    }

    fn step(&mut self) -> Result<()> {
        if self.position() > self.options.max_document_bytes {
            return Err(VoTableError::Refused(format!(
                "the document is larger than the limit of {} bytes",
                self.options.max_document_bytes
            )));
        }
        // The event borrows the read buffer; take it out of `self` while the event is handled.
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        let result = match self.xml.read_event_into(&mut buffer) {
            Ok(event) => self.handle(event),
            Err(e) => Err(self.xml_error(e)),
        };
        self.buffer = buffer;
        result
    }

    fn handle(&mut self, event: XmlEvent<'_>) -> Result<()> {
        match event {
            XmlEvent::Start(start) => {
                self.open(&start)?;
                if matches!(self.stack.last(), Some(Open::TableData)) {
                    // Rows are most of a document: read them without the event machinery.
                    self.read_tabledata()?;
                    self.close()?;
                } else if matches!(self.stack.last(), Some(Open::Stream)) {
                    // A stream is one long text: read it in pieces, so memory stays bounded.
                    self.read_stream()?;
                    self.close()?;
                } else {
                    self.names.push(start.local_name().as_ref().to_owned());
                }
            }
            XmlEvent::Empty(start) => {
                self.open(&start)?;
                self.close()?;
            }
            XmlEvent::End(end) => {
                let name = end.local_name();
                match self.names.pop() {
                    Some(open) if open.as_str() == name.as_ref() => {}
                    Some(open) => return Err(self.xml_error(format!("</{}> closes <{open}>", name.as_ref()))),
                    None => return Err(self.xml_error(format!("</{}> with no element open", name.as_ref()))),
                }
                self.close()?;
            }
            XmlEvent::Text(text) => {
                let content = text.xml10_content();
                self.add_text(&content)?;
            }
            XmlEvent::CData(data) => {
                let content = data.into_inner().into_owned();
                self.add_text(&content)?;
            }
            XmlEvent::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    reference.resolve_char_ref().map_err(|e| self.xml_error(e))?
                } else {
                    match reference.xml10_content().as_ref() {
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "amp" => Some('&'),
                        "apos" => Some('\''),
                        "quot" => Some('"'),
                        other => {
                            return Err(VoTableError::Refused(format!(
                                "undefined entity &{other}; (entities are not expanded)"
                            )));
                        }
                    }
                };
                if let Some(c) = resolved {
                    self.add_text(c.encode_utf8(&mut [0; 4]))?;
                }
            }
            XmlEvent::DocType(doctype) => {
                let text = doctype.into_inner();
                // External DTDs are never fetched; declared entities are never expanded.
                if text.contains("<!ENTITY") {
                    return Err(VoTableError::Refused("entity declarations are not accepted".to_owned()));
                }
            }
            XmlEvent::Eof => {
                if !self.stack.is_empty() || !self.names.is_empty() {
                    return Err(self.xml_error("the document ends inside an element (truncated?)"));
                }
                if !self.seen_root {
                    return Err(VoTableError::NotVoTable("no VOTABLE element".to_owned()));
                }
                self.done = true;
            }
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) => {}
        }
        Ok(())
    }

    /// Reads the rows of a TABLEDATA straight from the input, through its closing tag. The
    /// grammar here is small: TR, TD (with or without attributes, empty or not), text with
    /// entity and character references, CDATA sections and comments.
    fn read_tabledata(&mut self) -> Result<()> {
        let mut text = std::mem::take(&mut self.scan_text);
        let mut tag = std::mem::take(&mut self.scan_tag);
        let result = self.scan_rows(&mut text, &mut tag);
        self.scan_text = text;
        self.scan_tag = tag;
        result
    }

    fn scan_rows(&mut self, text: &mut Vec<u8>, tag: &mut Vec<u8>) -> Result<()> {
        // Where the scanner stands: between tags, in a cell's text, or in a tag (after `<`).
        #[derive(Clone, Copy, PartialEq)]
        enum At {
            Between,
            Cell,
            Tag,
        }
        let mut at = At::Between;
        let mut in_row = false;
        let mut in_cell = false;
        text.clear();
        tag.clear();
        let mut chunk = Vec::new();
        loop {
            // A copy of the next piece of input, so that rows can be finished while it is
            // read; only what was used is consumed, so quick-xml resumes after </TABLEDATA>.
            chunk.clear();
            {
                let input = self.xml.get_mut();
                let available = loop {
                    match input.fill_buf() {
                        Ok(bytes) => break bytes,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e.into()),
                    }
                };
                if available.is_empty() {
                    return Err(self.xml_error("the document ends inside TABLEDATA (truncated?)"));
                }
                chunk.extend_from_slice(&available[..available.len().min(1 << 16)]);
            }
            let mut i = 0;
            let mut finished = false;
            while i < chunk.len() && !finished {
                match at {
                    At::Between => {
                        while i < chunk.len() && chunk[i].is_ascii_whitespace() {
                            i += 1;
                        }
                        match chunk.get(i) {
                            None => {}
                            Some(b'<') => {
                                i += 1;
                                tag.clear();
                                at = At::Tag;
                            }
                            Some(_) => return Err(self.xml_error("text between the cells of a TABLEDATA")),
                        }
                    }
                    At::Cell => match memchr::memchr(b'<', &chunk[i..]) {
                        Some(k) => {
                            text.extend_from_slice(&chunk[i..i + k]);
                            i += k + 1;
                            tag.clear();
                            at = At::Tag;
                        }
                        None => {
                            text.extend_from_slice(&chunk[i..]);
                            i = chunk.len();
                            if text.len() > self.options.max_text_bytes {
                                return Err(VoTableError::Refused(format!(
                                    "a TD is larger than the limit of {} bytes",
                                    self.options.max_text_bytes
                                )));
                            }
                        }
                    },
                    At::Tag => match memchr::memchr(b'>', &chunk[i..]) {
                        None => {
                            tag.extend_from_slice(&chunk[i..]);
                            i = chunk.len();
                            if tag.len() > self.options.max_text_bytes {
                                return Err(VoTableError::Refused("a tag longer than the text limit".to_owned()));
                            }
                        }
                        Some(k) => {
                            tag.extend_from_slice(&chunk[i..i + k]);
                            i += k + 1;
                            // A `>` inside a comment or CDATA section does not end it.
                            if (tag.starts_with(b"!--") && !tag.ends_with(b"--"))
                                || (tag.starts_with(b"![CDATA[") && !tag.ends_with(b"]]"))
                            {
                                tag.push(b'>');
                                continue;
                            }
                            if tag.starts_with(b"!--") {
                                at = if in_cell { At::Cell } else { At::Between };
                                continue;
                            }
                            if tag.starts_with(b"![CDATA[") {
                                if !in_cell {
                                    return Err(self.xml_error("a CDATA section outside a TD"));
                                }
                                // CDATA is taken as it stands: resolve the text before it first.
                                self.add_cell_text(text)?;
                                text.clear();
                                let content = tag.get(8..tag.len() - 2).unwrap_or(&[]).to_vec();
                                self.add_cell_raw(&content)?;
                                at = At::Cell;
                                continue;
                            }
                            if in_cell {
                                self.add_cell_text(text)?;
                                text.clear();
                            }
                            finished = self.scan_tag(tag, &mut in_row, &mut in_cell)?;
                            at = if in_cell { At::Cell } else { At::Between };
                        }
                    },
                }
            }
            self.xml.get_mut().consume(i);
            self.bypassed += i as u64;
            if self.position() > self.options.max_document_bytes {
                return Err(VoTableError::Refused(format!(
                    "the document is larger than the limit of {} bytes",
                    self.options.max_document_bytes
                )));
            }
            if finished {
                return Ok(());
            }
        }
    }

    /// One tag of a TABLEDATA (without its `<` and `>`); true at `</TABLEDATA>`.
    fn scan_tag(&mut self, tag: &[u8], in_row: &mut bool, in_cell: &mut bool) -> Result<bool> {
        let (body, empty) = match tag.strip_suffix(b"/") {
            Some(body) => (body, true),
            None => (tag, false),
        };
        let (body, closing) = match body.strip_prefix(b"/") {
            Some(body) => (body, true),
            None => (body, false),
        };
        let name_end = body.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(body.len());
        let name = body.get(..name_end).unwrap_or(&[]);
        // Drop a namespace prefix (`vot:TD`).
        let name = name.rsplit(|&b| b == b':').next().unwrap_or(name);
        match (name, closing, empty, *in_row, *in_cell) {
            (b"TR", false, false, false, false) => {
                *in_row = true;
                if let Some(state) = self.table_mut() {
                    state.cell_text.clear();
                    state.cell_ends.clear();
                }
            }
            (b"TR", false, true, false, false) => {
                if let Some(state) = self.table_mut() {
                    state.cell_text.clear();
                    state.cell_ends.clear();
                }
                self.finish_tabledata_row()?;
            }
            (b"TR", true, _, true, false) => {
                *in_row = false;
                self.finish_tabledata_row()?;
            }
            (b"TD", false, false, true, false) => *in_cell = true,
            (b"TD", false, true, true, false) => self.end_cell(),
            (b"TD", true, _, true, true) => {
                *in_cell = false;
                self.end_cell();
            }
            (b"TABLEDATA", true, _, false, false) => return Ok(true),
            _ => {
                return Err(self.xml_error(format!("unexpected <{}> in TABLEDATA", String::from_utf8_lossy(tag))));
            }
        }
        Ok(false)
    }

    /// Reads a base64 STREAM's text straight from the input, a buffer at a time, through its
    /// closing tag, decoding rows as it goes.
    fn read_stream(&mut self) -> Result<()> {
        loop {
            let input = self.xml.get_mut();
            let available = match input.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if available.is_empty() {
                return Err(self.xml_error("the document ends inside a STREAM (truncated?)"));
            }
            let end = memchr::memchr(b'<', available);
            let chunk = available[..end.unwrap_or(available.len())].to_vec();
            let used = chunk.len();
            input.consume(used);
            self.bypassed += used as u64;
            if chunk.contains(&b'&') {
                return Err(self.xml_error("a reference inside a base64 STREAM"));
            }
            self.add_stream_text(&chunk)?;
            if self.position() > self.options.max_document_bytes {
                return Err(VoTableError::Refused(format!(
                    "the document is larger than the limit of {} bytes",
                    self.options.max_document_bytes
                )));
            }
            if end.is_some() {
                break;
            }
        }
        // The closing tag.
        let mut tag = Vec::new();
        let read = read_until_fast(self.xml.get_mut(), b'>', &mut tag)?;
        self.bypassed += read as u64;
        let name = tag.strip_prefix(b"</").and_then(|t| t.strip_suffix(b">")).map(|t| t.trim_ascii());
        match name {
            Some(name) if name.rsplit(|&b| b == b':').next() == Some(b"STREAM".as_slice()) => Ok(()),
            _ => Err(self.xml_error(format!("unexpected <{}> inside a STREAM", String::from_utf8_lossy(&tag)))),
        }
    }

    /// Cell text as it stands in the document: references resolved, then appended.
    fn add_cell_text(&mut self, raw: &[u8]) -> Result<()> {
        if !raw.contains(&b'&') {
            return self.add_cell_raw(raw);
        }
        let mut decoded = Vec::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(at) = rest.iter().position(|&b| b == b'&') {
            decoded.extend_from_slice(&rest[..at]);
            let after = &rest[at + 1..];
            let Some(end) = after.iter().position(|&b| b == b';') else {
                return Err(self.xml_error("an unterminated reference in a TD"));
            };
            let name = &after[..end];
            let c = match name {
                b"lt" => '<',
                b"gt" => '>',
                b"amp" => '&',
                b"apos" => '\'',
                b"quot" => '"',
                _ => {
                    let number = match name {
                        [b'#', b'x' | b'X', hex @ ..] => {
                            std::str::from_utf8(hex).ok().and_then(|h| u32::from_str_radix(h, 16).ok())
                        }
                        [b'#', dec @ ..] => std::str::from_utf8(dec).ok().and_then(|d| d.parse().ok()),
                        _ => {
                            return Err(VoTableError::Refused(format!(
                                "undefined entity &{}; (entities are not expanded)",
                                String::from_utf8_lossy(name)
                            )));
                        }
                    };
                    number.and_then(char::from_u32).ok_or_else(|| {
                        self.xml_error(format!("bad character reference &{};", String::from_utf8_lossy(name)))
                    })?
                }
            };
            decoded.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            rest = &after[end + 1..];
        }
        decoded.extend_from_slice(rest);
        self.add_cell_raw(&decoded)
    }

    fn add_cell_raw(&mut self, bytes: &[u8]) -> Result<()> {
        let limit = self.options.max_text_bytes;
        let Some(state) = self.table_mut() else { return Ok(()) };
        let cell_start = state.cell_ends.last().copied().unwrap_or(0);
        if state.cell_text.len() - cell_start + bytes.len() > limit {
            return Err(VoTableError::Refused(format!("a TD is larger than the limit of {limit} bytes")));
        }
        state.cell_text.extend_from_slice(bytes);
        Ok(())
    }

    fn end_cell(&mut self) {
        if let Some(state) = self.table_mut() {
            state.cell_ends.push(state.cell_text.len());
        }
    }

    fn add_text(&mut self, content: &str) -> Result<()> {
        match self.stack.last() {
            Some(Open::Stream) => self.add_stream_text(content.as_bytes()),
            Some(Open::Description | Open::Info(_) | Open::Link(_) | Open::Other) => {
                if self.text.len() + content.len() > self.options.max_text_bytes {
                    return Err(VoTableError::Refused(format!(
                        "an element's text is larger than the limit of {} bytes",
                        self.options.max_text_bytes
                    )));
                }
                self.text.push_str(content);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn open(&mut self, start: &BytesStart<'_>) -> Result<()> {
        let name = start.local_name().as_ref().to_owned();
        let attrs = Attributes::read(start).map_err(|e| self.xml_error(e))?;
        self.text.clear();
        let parent_is_root = self.stack.is_empty();
        if parent_is_root && name != "VOTABLE" {
            return Err(VoTableError::NotVoTable(format!("the root element is <{name}>, not <VOTABLE>")));
        }
        let open = match name.as_str() {
            "VOTABLE" => {
                if self.seen_root {
                    return Err(self.xml_error("a second VOTABLE element"));
                }
                self.seen_root = true;
                self.document.version = attrs.get("version");
                Open::VoTable
            }
            "RESOURCE" => Open::Resource(Box::new(Resource {
                id: attrs.get("ID"),
                name: attrs.get("name"),
                kind: attrs.get("type"),
                utype: attrs.get("utype"),
                ..Resource::default()
            })),
            "TABLE" => {
                let index = self.tables_seen;
                self.tables_seen += 1;
                Open::Table(Box::new(TableState {
                    meta: Table {
                        index,
                        id: attrs.get("ID"),
                        name: attrs.get("name"),
                        ucd: attrs.get("ucd"),
                        utype: attrs.get("utype"),
                        nrows: attrs.get("nrows").and_then(|n| n.trim().parse().ok()),
                        // A TABLE with ref takes the fields of the table it names.
                        fields: attrs
                            .get("ref")
                            .and_then(|r| self.fields_by_table_id.get(&r).cloned())
                            .unwrap_or_default(),
                        ..Table::default()
                    },
                    ..TableState::default()
                }))
            }
            "FIELD" => Open::Field(Box::new(self.field_from(&attrs, "FIELD")?)),
            "PARAM" => {
                let field = self.field_from(&attrs, "PARAM")?;
                let value = attrs.get("value").unwrap_or_default();
                Open::Param(Box::new(Param { field, value }))
            }
            "VALUES" => {
                // A VALUES with ref starts from the one it names.
                let mut values = attrs.get("ref").and_then(|r| self.values_by_id.get(&r).cloned()).unwrap_or_default();
                if let Some(null) = attrs.get("null") {
                    values.null = Some(null);
                }
                if let Some(id) = attrs.get("ID") {
                    self.pending_values_id = Some(id);
                }
                Open::Values(values)
            }
            "MIN" | "MAX" | "OPTION" => {
                if let Some(Open::Values(values)) = self.stack.last_mut() {
                    let value = attrs.get("value").unwrap_or_default();
                    match name.as_str() {
                        "MIN" => values.min = Some(value),
                        "MAX" => values.max = Some(value),
                        _ => values.options.push((attrs.get("name"), value)),
                    }
                }
                Open::Other
            }
            "INFO" => Open::Info(Info {
                name: attrs.get("name").unwrap_or_default(),
                value: attrs.get("value").unwrap_or_default(),
                id: attrs.get("ID"),
                content: None,
            }),
            "DESCRIPTION" => Open::Description,
            // VOTable 1.0 kept COOSYS and PARAM of the document inside DEFINITIONS.
            "DEFINITIONS" => Open::Definitions,
            "COOSYS" => Open::CooSys(CooSys {
                id: attrs.get("ID"),
                system: attrs.get("system"),
                equinox: attrs.get("equinox"),
                epoch: attrs.get("epoch"),
                refposition: attrs.get("refposition"),
            }),
            "TIMESYS" => Open::TimeSys(TimeSys {
                id: attrs.get("ID"),
                timeorigin: attrs.get("timeorigin"),
                timescale: attrs.get("timescale"),
                refposition: attrs.get("refposition"),
            }),
            "GROUP" => Open::Group(Box::new(Group {
                id: attrs.get("ID"),
                name: attrs.get("name"),
                reference: attrs.get("ref"),
                ucd: attrs.get("ucd"),
                utype: attrs.get("utype"),
                ..Group::default()
            })),
            "FIELDref" | "PARAMref" => {
                if let (Some(Open::Group(group)), Some(reference)) = (self.stack.last_mut(), attrs.get("ref")) {
                    if name == "FIELDref" {
                        group.field_refs.push(reference);
                    } else {
                        group.param_refs.push(reference);
                    }
                }
                Open::Other
            }
            "LINK" => Open::Link(Link {
                id: attrs.get("ID"),
                content_role: attrs.get("content-role"),
                content_type: attrs.get("content-type"),
                title: attrs.get("title"),
                href: attrs.get("href"),
                value: attrs.get("value"),
            }),
            "DATA" => {
                self.start_table_rows()?;
                Open::Data
            }
            // Its rows are read by `scan_rows`, never by quick-xml.
            "TABLEDATA" => Open::TableData,
            "BINARY" | "BINARY2" => {
                let binary2 = name == "BINARY2";
                if let Some(state) = self.table_mut() {
                    state.binary2 = binary2;
                }
                Open::Binary
            }
            "STREAM" => {
                if attrs.get("href").is_some() {
                    return Err(VoTableError::Unsupported("STREAM with href (data in another file)".to_owned()));
                }
                match attrs.get("encoding").as_deref() {
                    Some("base64") => {}
                    Some(other) => return Err(VoTableError::Unsupported(format!("STREAM encoding {other:?}"))),
                    None => return Err(VoTableError::Unsupported("STREAM without base64 encoding".to_owned())),
                }
                if !matches!(self.stack.last(), Some(Open::Binary)) {
                    return Err(VoTableError::Unsupported("FITS-serialised tables inside VOTable".to_owned()));
                }
                Open::Stream
            }
            "FITS" => return Err(VoTableError::Unsupported("FITS-serialised tables inside VOTable".to_owned())),
            _ => Open::Other,
        };
        self.stack.push(open);
        Ok(())
    }

    fn field_from(&self, attrs: &Attributes, element: &'static str) -> Result<Field> {
        let name = attrs.get("name").unwrap_or_default();
        let datatype = parse_datatype(element, &name, attrs.get("datatype").as_deref())?;
        let arraysize_text = attrs.get("arraysize");
        let arraysize = match &arraysize_text {
            Some(text) => Some(
                ArraySize::parse(text, self.options.max_array_elements)
                    .map_err(|message| VoTableError::BadDefinition { element, name: name.clone(), message })?,
            ),
            None => None,
        };
        Ok(Field {
            name,
            id: attrs.get("ID"),
            datatype,
            arraysize,
            arraysize_text,
            unit: attrs.get("unit"),
            ucd: attrs.get("ucd"),
            utype: attrs.get("utype"),
            xtype: attrs.get("xtype"),
            reference: attrs.get("ref"),
            width: attrs.get("width"),
            precision: attrs.get("precision"),
            description: None,
            values: Values::default(),
            links: Vec::new(),
        })
    }

    fn table_mut(&mut self) -> Option<&mut TableState> {
        self.stack.iter_mut().rev().find_map(|open| match open {
            Open::Table(state) => Some(state.as_mut()),
            _ => None,
        })
    }

    /// The table's definition is complete: announce it and prepare its columns.
    fn start_table_rows(&mut self) -> Result<()> {
        let max = self.options.max_array_elements;
        let Some(state) = self.table_mut() else {
            return Err(VoTableError::NotVoTable("DATA outside a TABLE".to_owned()));
        };
        if state.started {
            return Ok(());
        }
        state.started = true;
        if let Some(id) = &state.meta.id {
            let (id, fields) = (id.clone(), state.meta.fields.clone());
            self.fields_by_table_id.insert(id, fields);
        }
        let Some(state) = self.table_mut() else {
            return Err(VoTableError::NotVoTable("DATA outside a TABLE".to_owned()));
        };
        let schema = state.meta.schema();
        state.columns =
            state.meta.fields.iter().map(|f| ColumnBuilder::new(f.layout(), f.values.null.as_deref(), max)).collect();
        state.schema = Some(schema.clone());
        let table = Box::new(state.meta.clone());
        self.pending.push_back(Event::TableStart { table, schema });
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        let Some(open) = self.stack.pop() else {
            return Err(self.xml_error("an end tag with no element open"));
        };
        let text = std::mem::take(&mut self.text);
        match open {
            Open::VoTable | Open::Definitions | Open::Other | Open::Data | Open::TableData | Open::Binary => {}
            Open::Description => {
                let text = text.trim().to_owned();
                match self.stack.last_mut() {
                    Some(Open::VoTable) => self.document.description = Some(text),
                    Some(Open::Resource(r)) => r.description = Some(text),
                    Some(Open::Table(t)) => t.meta.description = Some(text),
                    Some(Open::Field(f)) => f.description = Some(text),
                    Some(Open::Param(p)) => p.field.description = Some(text),
                    Some(Open::Group(g)) => g.description = Some(text),
                    _ => {}
                }
            }
            Open::Info(mut info) => {
                let content = text.trim();
                if !content.is_empty() {
                    info.content = Some(content.to_owned());
                }
                match self.stack.last_mut() {
                    Some(Open::VoTable) => self.document.infos.push(info),
                    Some(Open::Resource(r)) => r.infos.push(info),
                    Some(Open::Table(t)) => t.meta.infos.push(info),
                    _ => {}
                }
            }
            Open::Values(values) => match self.stack.last_mut() {
                _ if self.pending_values_id.is_some() => {
                    if let Some(id) = self.pending_values_id.take() {
                        self.values_by_id.insert(id, values.clone());
                    }
                    match self.stack.last_mut() {
                        Some(Open::Field(f)) => f.values = values,
                        Some(Open::Param(p)) => p.field.values = values,
                        _ => {}
                    }
                }
                Some(Open::Field(f)) => f.values = values,
                Some(Open::Param(p)) => p.field.values = values,
                _ => {}
            },
            Open::Link(mut link) => {
                let content = text.trim();
                if link.href.is_none() && !content.is_empty() {
                    link.value.get_or_insert_with(|| content.to_owned());
                }
                match self.stack.last_mut() {
                    Some(Open::Field(f)) => f.links.push(link),
                    Some(Open::Param(p)) => p.field.links.push(link),
                    Some(Open::Resource(r)) => r.links.push(link),
                    Some(Open::Table(t)) => t.meta.links.push(link),
                    _ => {}
                }
            }
            Open::Field(field) => {
                if let Some(Open::Table(t)) = self.stack.last_mut() {
                    if t.started {
                        return Err(self.xml_error("FIELD after the table's DATA"));
                    }
                    t.meta.fields.push(*field);
                }
            }
            Open::Param(param) => match self.stack.last_mut() {
                Some(Open::VoTable | Open::Definitions) => self.document.params.push(*param),
                Some(Open::Resource(r)) => r.params.push(*param),
                Some(Open::Table(t)) => t.meta.params.push(*param),
                Some(Open::Group(g)) => g.params.push(*param),
                _ => {}
            },
            Open::CooSys(coosys) => match self.stack.last_mut() {
                Some(Open::VoTable | Open::Definitions) => self.document.coosys.push(coosys),
                Some(Open::Resource(r)) => r.coosys.push(coosys),
                _ => {}
            },
            Open::TimeSys(timesys) => match self.stack.last_mut() {
                Some(Open::VoTable) => self.document.timesys.push(timesys),
                Some(Open::Resource(r)) => r.timesys.push(timesys),
                _ => {}
            },
            Open::Group(group) => match self.stack.last_mut() {
                Some(Open::VoTable) => self.document.groups.push(*group),
                Some(Open::Resource(r)) => r.groups.push(*group),
                Some(Open::Table(t)) => t.meta.groups.push(*group),
                Some(Open::Group(g)) => g.groups.push(*group),
                _ => {}
            },
            Open::Stream => self.finish_stream()?,
            Open::Table(mut state) => {
                if !state.started {
                    // A table with no DATA still announces its (empty) definition.
                    self.stack.push(Open::Table(state));
                    self.start_table_rows()?;
                    let Some(Open::Table(s)) = self.stack.pop() else {
                        return Err(self.xml_error("internal: table state lost"));
                    };
                    state = s;
                }
                self.flush_batch(&mut state)?;
                let index = state.meta.index;
                self.pending.push_back(Event::TableEnd { table: index });
                let table = state.meta;
                match self.stack.last_mut() {
                    Some(Open::Resource(r)) => r.tables.push(table),
                    _ => return Err(VoTableError::NotVoTable("TABLE outside a RESOURCE".to_owned())),
                }
            }
            Open::Resource(resource) => match self.stack.last_mut() {
                Some(Open::VoTable) => self.document.resources.push(*resource),
                Some(Open::Resource(parent)) => parent.resources.push(*resource),
                _ => {}
            },
        }
        Ok(())
    }

    fn finish_tabledata_row(&mut self) -> Result<()> {
        let Some(position) = self.stack.iter().rposition(|o| matches!(o, Open::Table(_))) else {
            return Err(VoTableError::NotVoTable("TR outside a TABLE".to_owned()));
        };
        let batch_rows = self.options.batch_rows;
        let Some(Open::Table(state)) = self.stack.get_mut(position) else {
            return Err(VoTableError::NotVoTable("TR outside a TABLE".to_owned()));
        };
        let row = state.rows;
        if state.cell_ends.len() > state.columns.len() {
            return Err(VoTableError::BadValue {
                table: state.meta.index,
                row,
                column: String::new(),
                message: format!("{} cells for {} fields", state.cell_ends.len(), state.columns.len()),
            });
        }
        let Ok(row_text) = std::str::from_utf8(&state.cell_text) else {
            return Err(VoTableError::BadValue {
                table: state.meta.index,
                row,
                column: String::new(),
                message: "the row is not UTF-8 text".to_owned(),
            });
        };
        // XML line ends are \n whatever the file uses.
        let has_carriage_return = memchr::memchr(b'\r', state.cell_text.as_slice()).is_some();
        for (i, column) in state.columns.iter_mut().enumerate() {
            let start = if i == 0 { 0 } else { state.cell_ends.get(i - 1).copied().unwrap_or(0) };
            let cell = state.cell_ends.get(i).and_then(|&end| row_text.get(start..end));
            let normalised;
            let cell = match cell {
                Some(cell) if has_carriage_return && cell.contains('\r') => {
                    normalised = cell.replace("\r\n", "\n").replace('\r', "\n");
                    Some(normalised.as_str())
                }
                other => other,
            };
            let problem = match cell {
                Some(cell) => column.push_text(cell),
                None => {
                    column.push_null();
                    None
                }
            };
            if let Some(message) = problem {
                let column = state.meta.fields.get(i).map(|f| f.name.clone()).unwrap_or_default();
                let diagnostic = Diagnostic { table: state.meta.index, row, column, message };
                if self.diagnostics.len() < MAX_DIAGNOSTICS {
                    self.diagnostics.push(diagnostic);
                }
                self.diagnostic_count += 1;
            }
        }
        state.rows += 1;
        state.rows_in_batch += 1;
        if state.rows_in_batch >= batch_rows {
            let mut state = match self.stack.get_mut(position) {
                Some(Open::Table(state)) => std::mem::take(state),
                _ => return Ok(()),
            };
            let flushed = self.flush_batch(&mut state);
            if let Some(Open::Table(slot)) = self.stack.get_mut(position) {
                *slot = state;
            }
            flushed?;
        }
        Ok(())
    }

    fn add_stream_text(&mut self, content: &[u8]) -> Result<()> {
        let Some(position) = self.stack.iter().rposition(|o| matches!(o, Open::Table(_))) else {
            return Err(VoTableError::NotVoTable("STREAM outside a TABLE".to_owned()));
        };
        let batch_rows = self.options.batch_rows;
        let mut state = match self.stack.get_mut(position) {
            Some(Open::Table(state)) => std::mem::take(state),
            _ => return Ok(()),
        };
        let result = self.decode_stream_text(&mut state, content, batch_rows);
        if let Some(Open::Table(slot)) = self.stack.get_mut(position) {
            *slot = state;
        }
        result
    }

    fn decode_stream_text(&mut self, state: &mut TableState, content: &[u8], batch_rows: usize) -> Result<()> {
        let table = state.meta.index;
        // Base64 comes in lines: copy the runs between blanks whole.
        for run in content.split(u8::is_ascii_whitespace) {
            state.base64_pending.extend_from_slice(run);
        }
        let usable = state.base64_pending.len() / 4 * 4;
        if usable == 0 {
            return Ok(());
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&state.base64_pending[..usable])
            .map_err(|e| VoTableError::BadStream { table, message: format!("bad base64: {e}") })?;
        state.base64_pending.drain(..usable);
        state.bytes.extend_from_slice(&decoded);
        self.decode_rows(state, batch_rows)
    }

    fn decode_rows(&mut self, state: &mut TableState, batch_rows: usize) -> Result<()> {
        let table = state.meta.index;
        let flag_bytes = if state.binary2 { state.columns.len().div_ceil(8) } else { 0 };
        loop {
            let data = state.bytes.get(state.consumed..).unwrap_or(&[]);
            // Measure the row first: decode only rows that are complete.
            let mut lengths = std::mem::take(&mut state.cell_lengths);
            lengths.clear();
            let mut position = flag_bytes;
            let mut complete = data.len() >= flag_bytes;
            for column in &state.columns {
                if !complete {
                    break;
                }
                let rest = data.get(position..).unwrap_or(&[]);
                match column.binary_len(rest).map_err(|message| VoTableError::BadStream { table, message })? {
                    Some(length) if rest.len() >= length => {
                        lengths.push(length);
                        position += length;
                    }
                    _ => complete = false,
                }
            }
            // A row of no bytes (a table without fields) cannot be told from the end of the
            // stream: such a BINARY table has no rows.
            if !complete || position == 0 {
                state.cell_lengths = lengths;
                break;
            }
            let flags = data.get(..flag_bytes).unwrap_or(&[]);
            let mut offset = flag_bytes;
            for (i, (column, &length)) in state.columns.iter_mut().zip(&lengths).enumerate() {
                let null = flags.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0);
                let cell = data.get(offset..offset + length).unwrap_or(&[]);
                column.push_binary(cell, null).map_err(|message| VoTableError::BadValue {
                    table,
                    row: state.rows,
                    column: state.meta.fields.get(i).map(|f| f.name.clone()).unwrap_or_default(),
                    message,
                })?;
                offset += length;
            }
            state.cell_lengths = lengths;
            state.consumed += position;
            state.rows += 1;
            state.rows_in_batch += 1;
            if state.rows_in_batch >= batch_rows {
                self.flush_batch(state)?;
            }
        }
        // Keep the undecoded tail only.
        if state.consumed > 0 {
            state.bytes.drain(..state.consumed);
            state.consumed = 0;
        }
        Ok(())
    }

    fn finish_stream(&mut self) -> Result<()> {
        let Some(state) = self.table_mut() else { return Ok(()) };
        let table = state.meta.index;
        if !state.base64_pending.is_empty() {
            // Padding-free base64 leaves a short final group.
            let tail = std::mem::take(&mut state.base64_pending);
            let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(tail.iter().copied().filter(|&b| b != b'=').collect::<Vec<u8>>())
                .map_err(|e| VoTableError::BadStream { table, message: format!("bad base64 at the end: {e}") })?;
            state.bytes.extend_from_slice(&decoded);
        }
        let position = self.stack.iter().rposition(|o| matches!(o, Open::Table(_)));
        if let Some(position) = position {
            let batch_rows = self.options.batch_rows;
            let mut state = match self.stack.get_mut(position) {
                Some(Open::Table(state)) => std::mem::take(state),
                _ => return Ok(()),
            };
            let result = self.decode_rows(&mut state, batch_rows);
            let leftover = state.bytes.len();
            if let Some(Open::Table(slot)) = self.stack.get_mut(position) {
                *slot = state;
            }
            result?;
            if leftover > 0 {
                return Err(VoTableError::BadStream {
                    table,
                    message: format!("the stream ends inside a row ({leftover} bytes left over: truncated?)"),
                });
            }
        }
        Ok(())
    }

    fn flush_batch(&mut self, state: &mut TableState) -> Result<()> {
        if state.rows_in_batch == 0 && state.rows > 0 {
            return Ok(());
        }
        let Some(schema) = state.schema.clone() else { return Ok(()) };
        if state.rows_in_batch == 0 && state.columns.iter().all(|c| c.len() == 0) && state.rows == 0 {
            // No rows at all: no batch (readers get the schema from TableStart).
            return Ok(());
        }
        let mut arrays = Vec::with_capacity(state.columns.len());
        for (column, field) in state.columns.iter_mut().zip(schema.fields()) {
            arrays.push(column.finish(field)?);
        }
        // A table without fields still has rows: the batch carries their count.
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(state.rows_in_batch));
        let batch = RecordBatch::try_new_with_options(schema, arrays, &options)?;
        state.rows_in_batch = 0;
        self.pending.push_back(Event::Batch { table: state.meta.index, batch });
        Ok(())
    }
}

/// `BufRead::read_until` with a vectorised search: the row scanner's inner loop.
fn read_until_fast<R: BufRead>(input: &mut R, delimiter: u8, out: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut read = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(read);
        }
        let (done, used) = match memchr::memchr(delimiter, available) {
            Some(at) => {
                out.extend_from_slice(&available[..=at]);
                (true, at + 1)
            }
            None => {
                out.extend_from_slice(available);
                (false, available.len())
            }
        };
        input.consume(used);
        read += used;
        if done {
            return Ok(read);
        }
    }
}

/// The attributes of one start tag, unescaped.
struct Attributes(Vec<(String, String)>);

impl Attributes {
    fn read(start: &BytesStart<'_>) -> std::result::Result<Attributes, String> {
        let mut out = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| e.to_string())?;
            let key = attribute.key.local_name().as_ref().to_owned();
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| format!("attribute {key}: {e}"))?
                .into_owned();
            out.push((key, value));
        }
        Ok(Attributes(out))
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }
}

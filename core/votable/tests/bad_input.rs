//! Hostile and broken documents: clear errors, never a panic, never an expanded entity.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use skyglass_votable::{ReaderOptions, VoTableError, read_votable, read_votable_with};

fn error_of(xml: &str) -> VoTableError {
    read_votable(xml.as_bytes()).expect_err("the document was accepted")
}

const TABLE_START: &str = r#"<VOTABLE version="1.4"><RESOURCE><TABLE>"#;

#[test]
fn entity_expansion_is_refused() {
    let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE VOTABLE [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<VOTABLE><RESOURCE><DESCRIPTION>&lol3;</DESCRIPTION></RESOURCE></VOTABLE>"#;
    assert!(matches!(error_of(billion_laughs), VoTableError::Refused(_)));

    let external = r#"<?xml version="1.0"?>
<!DOCTYPE VOTABLE [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<VOTABLE><RESOURCE><DESCRIPTION>&secret;</DESCRIPTION></RESOURCE></VOTABLE>"#;
    assert!(matches!(error_of(external), VoTableError::Refused(_)));

    // Without a declaration, an unknown entity is refused too.
    let undeclared = "<VOTABLE><RESOURCE><DESCRIPTION>&secret;</DESCRIPTION></RESOURCE></VOTABLE>";
    assert!(error_of(undeclared).to_string().contains("undefined entity &secret;"));
}

#[test]
fn predefined_and_character_entities_are_read() {
    let xml = format!(
        "{TABLE_START}<FIELD name=\"s\" datatype=\"char\" arraysize=\"*\"/><DATA><TABLEDATA>\
         <TR><TD>a &lt; b &amp; &#233;&#x41;</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let votable = read_votable(xml.as_bytes()).unwrap();
    let column = votable.batches[0][0].column(0).clone();
    let strings = column.as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
    assert_eq!(strings.value(0), "a < b & éA");
}

#[test]
fn absurd_arraysizes_are_refused() {
    let xml = format!(
        "{TABLE_START}<FIELD name=\"x\" datatype=\"double\" arraysize=\"100000x100000x100000\"/>\
         </TABLE></RESOURCE></VOTABLE>"
    );
    let err = error_of(&xml);
    assert!(matches!(err, VoTableError::BadDefinition { .. }), "{err}");
    assert!(err.to_string().contains("exceeds the limit"), "{err}");

    // A variable-length array in BINARY2 whose count claims four billion elements.
    let row: Vec<u8> = [0u8].into_iter().chain(0xFFFF_FFF0u32.to_be_bytes()).collect();
    let xml = format!(
        "{TABLE_START}<FIELD name=\"x\" datatype=\"double\" arraysize=\"*\"/><DATA><BINARY2>\
         <STREAM encoding=\"base64\">{}</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>",
        base64_encode(&row)
    );
    assert!(error_of(&xml).to_string().contains("claims"));
}

#[test]
fn oversize_documents_are_refused() {
    let mut xml = format!("{TABLE_START}<FIELD name=\"x\" datatype=\"int\"/><DATA><TABLEDATA>");
    for i in 0..10_000 {
        xml.push_str(&format!("<TR><TD>{i}</TD></TR>"));
    }
    xml.push_str("</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>");
    let options = ReaderOptions { max_document_bytes: 50_000, ..ReaderOptions::default() };
    let err = read_votable_with(xml.as_bytes(), options).unwrap_err();
    assert!(matches!(err, VoTableError::Refused(_)), "{err}");
    assert!(err.to_string().contains("50000 bytes"), "{err}");
}

#[test]
fn truncated_and_foreign_documents_are_clear_errors() {
    let truncated = format!("{TABLE_START}<FIELD name=\"x\" datatype=\"int\"/><DATA><TABLEDATA><TR><TD>1</TD>");
    assert!(error_of(&truncated).to_string().contains("truncated"));

    assert!(matches!(error_of("<html><body>502 Bad Gateway</body></html>"), VoTableError::NotVoTable(_)));
    assert!(matches!(error_of(""), VoTableError::NotVoTable(_)));
    assert!(matches!(error_of("<VOTABLE><RESOURCE></VOTABLE>"), VoTableError::Xml { .. }));

    // A BINARY stream cut in the middle of a row.
    let xml = format!(
        "{TABLE_START}<FIELD name=\"x\" datatype=\"double\"/><DATA><BINARY>\
         <STREAM encoding=\"base64\">{}</STREAM></BINARY></DATA></TABLE></RESOURCE></VOTABLE>",
        base64_encode(&[0x3F, 0xF0, 0, 0, 0, 0, 0, 0, 0x40, 0x00, 0, 0])
    );
    assert!(error_of(&xml).to_string().contains("ends inside a row"));
}

#[test]
fn unreadable_cells_become_nulls_with_diagnostics() {
    let xml = format!(
        "{TABLE_START}<FIELD name=\"n\" datatype=\"int\"/><DATA><TABLEDATA>\
         <TR><TD>1</TD></TR><TR><TD>two</TD></TR><TR><TD>99999999999</TD></TR>\
         </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let votable = read_votable(xml.as_bytes()).unwrap();
    assert_eq!(votable.batches[0][0].column(0).null_count(), 2);
    assert_eq!(votable.diagnostic_count, 2);
    assert_eq!(votable.diagnostics[0].row, 1);
    assert!(votable.diagnostics[1].message.contains("out of range for int"));
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Found by the `read_votable` fuzz target: a table without fields but with rows. Its
/// batches must carry the row count, and a BINARY2 stream of such rows (zero bytes each)
/// once made the reader loop for ever.
#[test]
fn regression_tables_without_fields() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_table_without_fields.xml");
    let votable = read_votable(&std::fs::read(path).unwrap()).unwrap();
    let table = &votable.meta.tables()[0];
    assert!(table.fields.is_empty());
    let mut written = Vec::new();
    skyglass_votable::write_votable(
        &mut written,
        &table.schema(),
        &votable.batches[0],
        skyglass_votable::Serialization::Binary2,
        &skyglass_votable::WriteOptions::default(),
    )
    .unwrap();
    // Zero-width rows cannot be counted in a binary stream: it reads back as no rows.
    let again = read_votable(&written).unwrap();
    assert_eq!(again.batches[0].iter().map(|b| b.num_rows()).sum::<usize>(), 0);

    let xml = format!("{TABLE_START}<DATA><TABLEDATA><TR/><TR/></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>");
    let votable = read_votable(xml.as_bytes()).unwrap();
    assert_eq!(votable.batches[0][0].num_rows(), 2);
}

#[test]
fn tabledata_syntax_the_row_scanner_reads() {
    let xml = format!(
        "{TABLE_START}<FIELD name=\"s\" datatype=\"char\" arraysize=\"*\"/><FIELD name=\"n\" datatype=\"int\"/>\
         <DATA><TABLEDATA>\n  <!-- a comment > with a bracket -->\n\
         <TR><TD><![CDATA[a <b> & c]]></TD><TD ID=\"x\">1</TD></TR>\r\n\
         <TR><TD>line\r\nbreak</TD><TD/></TR>\n\
         <vot:TR><vot:TD>ns</vot:TD><vot:TD>3</vot:TD></vot:TR>\n\
         </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let votable = read_votable(xml.as_bytes()).unwrap();
    let batch = &votable.batches[0][0];
    let strings = batch.column(0).as_any().downcast_ref::<arrow_array::StringArray>().unwrap();
    assert_eq!(strings.value(0), "a <b> & c");
    assert_eq!(strings.value(1), "line\nbreak");
    assert_eq!(strings.value(2), "ns");
    assert_eq!(batch.column(1).null_count(), 1);
}

#[test]
fn misnested_elements_are_errors() {
    let misnested = "<VOTABLE><RESOURCE><TABLE></RESOURCE></TABLE></VOTABLE>";
    assert!(error_of(misnested).to_string().contains("</RESOURCE> closes <TABLE>"));
    let stray = format!(
        "{TABLE_START}<FIELD name=\"n\" datatype=\"int\"/><DATA><TABLEDATA><TR><TD>1</TD><B>x</B></TR>\
         </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    assert!(error_of(&stray).to_string().contains("unexpected <B> in TABLEDATA"));
    let text = format!(
        "{TABLE_START}<FIELD name=\"n\" datatype=\"int\"/><DATA><TABLEDATA>oops<TR><TD>1</TD></TR>\
         </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    assert!(error_of(&text).to_string().contains("text between the cells"));
}

//! The VOSI resources of the TAP service (availability, capabilities, tables) and its DALI
//! examples. Capabilities state every limit the service holds to; tables lists only what
//! the caller may read.

use super::error::ApiResult;
use super::extract::{BaseUrl, MAX_BODY_BYTES, Params};
use super::format::{xml_escape, xml_response};
use super::{Caller, Shared, blocking};
use crate::query::{DEFAULT_MAXREC, EXECUTION_LIMIT, HARD_MAXREC};
use crate::store::Archive;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

pub(crate) async fn availability() -> Response {
    xml_response(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n\
         <vosi:available>true</vosi:available>\n\
         <vosi:note>Skyglass archive: accepting queries</vosi:note>\n\
         </vosi:availability>\n"
            .to_owned(),
    )
}

pub(crate) async fn capabilities(State(service): Shared, BaseUrl(base): BaseUrl) -> Response {
    let mut xml = String::new();
    let _ = write!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<vosi:capabilities xmlns:vosi=\"http://www.ivoa.net/xml/VOSICapabilities/v1.0\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vr=\"http://www.ivoa.net/xml/VOResource/v1.0\" \
xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\" xmlns:tr=\"http://www.ivoa.net/xml/TAPRegExt/v1.0\">
  <capability standardID=\"ivo://ivoa.net/std/TAP\" xsi:type=\"tr:TableAccess\">
    <interface xsi:type=\"vs:ParamHTTP\" role=\"std\" version=\"1.1\">
      <accessURL use=\"base\">{base}/tap</accessURL>
    </interface>
    <language>
      <name>ADQL</name>
      <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.0\">2.0</version>
      <version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.1\">2.1</version>
      <description>ADQL 2.1; geometry: CONTAINS and INTERSECTS of any two of POINT, CIRCLE, BOX and POLYGON (concave ones too), DISTANCE, COORD1, COORD2, AREA (geometry values are arguments of these, not result columns); COALESCE; bitwise operators and hexadecimal literals</description>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adqlgeo\">
        <feature><form>POINT</form></feature>
        <feature><form>CIRCLE</form></feature>
        <feature><form>BOX</form></feature>
        <feature><form>POLYGON</form></feature>
        <feature><form>CONTAINS</form></feature>
        <feature><form>INTERSECTS</form></feature>
        <feature><form>DISTANCE</form></feature>
        <feature><form>COORD1</form></feature>
        <feature><form>COORD2</form></feature>
        <feature><form>AREA</form></feature>
      </languageFeatures>
      <!-- COALESCE is supported too; the features-adql-conditional key is left out because
           taplint 3.4 (Debian's) does not know it yet and reports it as an error. -->
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-string\">
        <feature><form>LOWER</form></feature>
        <feature><form>UPPER</form></feature>
        <feature><form>ILIKE</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-sets\">
        <feature><form>UNION</form></feature>
        <feature><form>EXCEPT</form></feature>
        <feature><form>INTERSECT</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-common-table\">
        <feature><form>WITH</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-type\">
        <feature><form>CAST</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-unit\">
        <feature><form>IN_UNIT</form></feature>
      </languageFeatures>
      <languageFeatures type=\"ivo://ivoa.net/std/TAPRegExt#features-adql-offset\">
        <feature><form>OFFSET</form></feature>
      </languageFeatures>
    </language>
    <outputFormat ivo-id=\"ivo://ivoa.net/std/TAPRegExt#output-votable-td\">
      <mime>application/x-votable+xml</mime><alias>votable</alias>
    </outputFormat>
    <outputFormat ivo-id=\"ivo://ivoa.net/std/TAPRegExt#output-votable-binary2\">
      <mime>application/x-votable+xml;serialization=BINARY2</mime><alias>votable/b2</alias>
    </outputFormat>
    <outputFormat><mime>text/csv</mime><alias>csv</alias></outputFormat>
    <outputFormat><mime>text/tab-separated-values</mime><alias>tsv</alias></outputFormat>
    <outputFormat><mime>application/vnd.apache.parquet</mime><alias>parquet</alias></outputFormat>
    <outputFormat><mime>application/json</mime><alias>json</alias></outputFormat>
    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-inline\"/>
    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-http\"/>
    <uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-https\"/>
    <executionDuration><default>{limit}</default><hard>{limit}</hard></executionDuration>
    <outputLimit><default unit=\"row\">{default}</default><hard unit=\"row\">{hard}</hard></outputLimit>
    <uploadLimit><hard unit=\"byte\">{upload}</hard></uploadLimit>
  </capability>
  <capability standardID=\"ivo://skyglass/archive#user-tables\">
    <description>Users' own tables (ESA TAP+): at most {tables} tables and {quota} MiB per user; one upload up to {upload_mib} MiB</description>
    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"base\">{base}/tap-server/Upload</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/VOSI#capabilities\">
    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">{base}/tap/capabilities</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/VOSI#availability\">
    <interface xsi:type=\"vs:ParamHTTP\"><accessURL use=\"full\">{base}/tap/availability</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/DALI#examples\">
    <interface xsi:type=\"vr:WebBrowser\"><accessURL use=\"full\">{base}/tap/examples</accessURL></interface>
  </capability>
  <capability standardID=\"ivo://ivoa.net/std/VOSI#tables-1.1\">
    <interface xsi:type=\"vs:ParamHTTP\" version=\"1.1\"><accessURL use=\"full\">{base}/tap/tables</accessURL></interface>
  </capability>
</vosi:capabilities>
",
        limit = EXECUTION_LIMIT.as_secs(),
        default = DEFAULT_MAXREC,
        hard = HARD_MAXREC,
        upload = MAX_BODY_BYTES,
        upload_mib = service.options.upload_limit >> 20,
        tables = crate::quota::PER_USER.tables,
        quota = crate::quota::PER_USER.bytes >> 20,
    );
    xml_response(xml)
}

/// Queries to start from, as DALI examples (XHTML with RDFa).
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "cone",
        "Bright stars within a degree of the Orion Nebula",
        "SELECT hip, ra, dec, hpmag FROM catalogs.hipparcos WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 83.82, -5.39, 1)) ORDER BY hpmag",
    ),
    (
        "distance",
        "The ten Messier objects nearest to M 31 on the sky",
        "SELECT TOP 10 name, messier, DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 10.6848, 41.2691)) AS separation FROM catalogs.openngc WHERE messier IS NOT NULL ORDER BY separation",
    ),
    (
        "tables",
        "The tables of this service and their descriptions",
        "SELECT table_name, description FROM TAP_SCHEMA.tables",
    ),
];

pub(crate) async fn examples() -> Response {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head><title>Skyglass archive: examples</title></head>\n\
         <body vocab=\"http://www.ivoa.net/rdf/examples#\">\n<h1>Examples</h1>\n",
    );
    for (id, name, query) in EXAMPLES {
        let _ = writeln!(
            html,
            "<div typeof=\"example\" id=\"{id}\" resource=\"#{id}\">\n  <h2 property=\"name\">{}</h2>\n  <pre property=\"query\">{}</pre>\n</div>",
            xml_escape(name),
            xml_escape(query)
        );
    }
    html.push_str("</body>\n</html>\n");
    let mut response = (StatusCode::OK, html).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xhtml+xml"));
    response
}

/// VOSI tables: those the caller may read. TAP+'s parameters are understood: `tables=A,B`
/// (only these), `only_tables=true` (no columns); under `/tap-server` every column carries
/// `esatapplus:flags` (its client requires it) and every table `esatapplus:size_bytes`.
pub(crate) async fn tables(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult {
    // The TAP+ attributes only where TAP+ clients look: VODataService's schema allows no
    // foreign attributes, and VOSI validators (taplint) check /tap/tables against it.
    let tap_plus = uri.path().starts_with("/tap-server/");
    blocking(move || tableset(&service.archive, caller.0.as_deref(), &Params(query), tap_plus).map(xml_response)).await
}

/// The tableset document of the tables `caller` may read.
fn tableset(archive: &Archive, caller: Option<&str>, query: &Params, tap_plus: bool) -> ApiResult<String> {
    let mut tables = archive.tables_for(caller)?;
    if let Some(wanted) = query.get("tables") {
        let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
        tables.retain(|t| wanted.iter().any(|w| w.eq_ignore_ascii_case(&t.qualified())));
    }
    let only_tables = query.get("only_tables").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let positions = archive.indexed_tables().unwrap_or_default();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<vosi:tableset xmlns:vosi=\"http://www.ivoa.net/xml/VOSITables/v1.0\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:vs=\"http://www.ivoa.net/xml/VODataService/v1.1\"{}>\n",
        if tap_plus { " xmlns:esatapplus=\"http://esa.int/xml/EsaTapPlus\"" } else { "" }
    );
    let mut schema = None;
    for table in &tables {
        if schema.as_deref() != Some(table.schema.as_str()) {
            if schema.is_some() {
                xml.push_str("  </schema>\n");
            }
            let _ = writeln!(xml, "  <schema>\n    <name>{}</name>", xml_escape(&table.schema));
            schema = Some(table.schema.clone());
        }
        let size = if tap_plus {
            let bytes = crate::store::TableName::parse(&table.qualified())
                .ok()
                .and_then(|name| std::fs::metadata(archive.parquet_path(&name)).ok())
                .map_or(0, |m| m.len());
            format!(" esatapplus:size_bytes=\"{bytes}\"")
        } else {
            String::new()
        };
        let _ = writeln!(
            xml,
            "    <table type=\"table\"{size}>\n      <name>{}</name>\n      <description>{}</description>",
            xml_escape(&table.qualified()),
            xml_escape(&table.description)
        );
        let position = positions.get(&table.qualified()).map(|t| (t.ra.clone(), t.dec.clone()));
        for column in table.columns.iter().filter(|_| !only_tables) {
            let arraysize = column.arraysize.as_deref().map(|a| format!(" arraysize=\"{a}\"")).unwrap_or_default();
            let _ = write!(
                xml,
                "      <column{}>\n        <name>{}</name>\n        <description>{}</description>\n",
                if tap_plus {
                    format!(" esatapplus:flags=\"{}\"", super::tapplus::column_flags(position.as_ref(), &column.name))
                } else {
                    String::new()
                },
                xml_escape(&column.name),
                xml_escape(&column.description)
            );
            if !column.unit.is_empty() {
                let _ = writeln!(xml, "        <unit>{}</unit>", xml_escape(&column.unit));
            }
            if !column.ucd.is_empty() {
                let _ = writeln!(xml, "        <ucd>{}</ucd>", xml_escape(&column.ucd));
            }
            let _ = writeln!(
                xml,
                "        <dataType xsi:type=\"vs:VOTableType\"{arraysize}>{}</dataType>",
                column.datatype
            );
            if column.indexed {
                xml.push_str("        <flag>indexed</flag>\n");
            }
            xml.push_str("      </column>\n");
        }
        for (_, from, from_column, target, target_column) in crate::store::TAP_SCHEMA_KEYS {
            if *from == table.qualified() {
                let _ = writeln!(
                    xml,
                    "      <foreignKey>\n        <targetTable>{target}</targetTable>\n        <fkColumn>\n          \
                     <fromColumn>{from_column}</fromColumn>\n          <targetColumn>{target_column}</targetColumn>\n        \
                     </fkColumn>\n      </foreignKey>"
                );
            }
        }
        xml.push_str("    </table>\n");
    }
    if schema.is_some() {
        xml.push_str("  </schema>\n");
    }
    xml.push_str("</vosi:tableset>\n");
    Ok(xml)
}

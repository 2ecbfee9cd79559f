//! `/timeseries/{schema.table}?x=…&y=…[&start&end&width&method&format]`: a series of the
//! archive downsampled for a plot (see the crate's `timeseries` module), as JSON (errors too)
//! or, with `format=votable`, as a VOTable (errors as DALI documents).

use super::error::{ApiError, ApiResult};
use super::format::xml_escape;
use super::{Caller, Shared};
use crate::query::EXECUTION_LIMIT;
use crate::timeseries::{Downsampled, Method, SeriesRequest};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write as _;

pub(crate) async fn series(
    State(service): Shared,
    Extension(caller): Extension<Caller>,
    Path(table): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult {
    let param = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let votable = matches!(param("format"), Some("votable" | "application/x-votable+xml"));
    // JSON clients get their errors as JSON, VOTable clients as DALI documents.
    let in_kind = |error: ApiError| if votable { error } else { error.as_json() };
    let request = parse(&table, param).map_err(|message| in_kind(ApiError::bad_request(message)))?;
    let found = tokio::time::timeout(EXECUTION_LIMIT, service.archive.timeseries(&request, caller.0.as_deref()))
        .await
        .map_err(|_| in_kind(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the series took too long to read")))?
        .map_err(|error| {
            let status =
                if error.is_user_error() { StatusCode::BAD_REQUEST } else { StatusCode::INTERNAL_SERVER_ERROR };
            in_kind(ApiError::new(status, error.to_string()))
        })?;
    Ok(if votable { votable_response(&request, &found) } else { json_response(&request, &found) })
}

fn parse<'a>(table: &str, param: impl Fn(&str) -> Option<&'a str>) -> Result<SeriesRequest, String> {
    let number = |name: &str| -> Result<Option<f64>, String> {
        param(name).map(|v| v.parse::<f64>().map_err(|_| format!("{name} must be a number, not {v:?}"))).transpose()
    };
    let table = crate::store::TableName::parse(table).map_err(|e| e.to_string())?;
    let x = param("x").ok_or("name the time column: x=COLUMN")?.to_owned();
    let y = param("y").ok_or("name the columns to plot: y=COLUMN[,COLUMN…]")?;
    let width = match param("width") {
        Some(v) => v.parse().map_err(|_| format!("width must be a whole number of pixels, not {v:?}"))?,
        None => 1000,
    };
    let method = match param("method").map(str::to_ascii_lowercase).as_deref() {
        None | Some("minmaxlttb") => Method::MinMaxLttb,
        Some("lttb") => Method::Lttb,
        Some(other) => return Err(format!("method is lttb or minmaxlttb, not {other:?}")),
    };
    Ok(SeriesRequest {
        table,
        x,
        y: y.split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
        start: number("start")?,
        end: number("end")?,
        width,
        method,
    })
}

fn votable_response(request: &SeriesRequest, found: &Downsampled) -> Response {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
         <RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<TABLE>\n\
         <FIELD name=\"series\" datatype=\"char\" arraysize=\"*\"/>\n",
    );
    let _ = writeln!(xml, "<FIELD name=\"{}\" datatype=\"double\"/>", xml_escape(&request.x));
    xml.push_str("<FIELD name=\"value\" datatype=\"double\"/>\n<DATA><TABLEDATA>\n");
    for series in &found.series {
        for (x, y) in series.x.iter().zip(&series.y) {
            let _ = writeln!(xml, "<TR><TD>{}</TD><TD>{x:?}</TD><TD>{y:?}</TD></TR>", xml_escape(&series.name));
        }
    }
    xml.push_str("</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n");
    let mut response = xml.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-votable+xml"));
    response
}

fn json_response(request: &SeriesRequest, found: &Downsampled) -> Response {
    let body = serde_json::json!({
        "table": request.table.qualified(),
        "x": request.x,
        "start": found.start,
        "end": found.end,
        "rows": found.rows,
        "width": request.width,
        "method": if request.method == Method::Lttb { "lttb" } else { "minmaxlttb" },
        "series": found.series.iter().map(|s| serde_json::json!({ "name": s.name, "x": s.x, "y": s.y })).collect::<Vec<_>>(),
    });
    let mut response = body.to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

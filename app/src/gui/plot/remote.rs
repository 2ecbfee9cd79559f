//! Series served by an archive's `/timeseries` endpoint: the table stays on the server, and
//! each view is asked for again at its width, so a series of billions of rows zooms like a
//! short one. One request is in flight at a time; the view asked next is the latest.

use super::table::PlotSeries;
use anyhow::{Context, Result, bail};
use std::sync::mpsc::{Receiver, channel};

/// What a plot shows: its x range (infinite ends for the whole series) and width in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub low: f64,
    pub high: f64,
    pub pixels: usize,
}

/// One answer of the endpoint.
pub struct Answer {
    /// Rows of the table in the range.
    pub rows: u64,
    pub series: Vec<PlotSeries>,
}

pub struct ArchiveSeries {
    /// The endpoint with its table and columns, without range or width.
    url: reqwest::Url,
    pub x_name: String,
    pub latest: Option<Answer>,
    /// The view last asked for.
    asked: Option<View>,
    in_flight: Option<Receiver<(View, Result<Answer, String>)>>,
    pub error: Option<String>,
    /// One client (and connection) for every view asked: zooming asks often.
    http: reqwest::blocking::Client,
}

impl ArchiveSeries {
    /// A series URL as the archive serves it:
    /// `http://HOST/timeseries/SCHEMA.TABLE?x=COLUMN&y=COLUMN[,COLUMN…]`. Any range, width or
    /// format in it is dropped: the plot asks for its own.
    pub fn new(url: &str) -> Result<ArchiveSeries> {
        let mut url = reqwest::Url::parse(url.trim()).with_context(|| format!("{url:?} is not a URL"))?;
        if !url.path().contains("/timeseries/") {
            bail!("a series URL looks like http://HOST/timeseries/SCHEMA.TABLE?x=TIME&y=COLUMN");
        }
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| !matches!(key.to_ascii_lowercase().as_str(), "start" | "end" | "width" | "format"))
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let x_name = kept.iter().find(|(key, _)| key.eq_ignore_ascii_case("x")).map(|(_, value)| value.clone());
        let has_y = kept.iter().any(|(key, _)| key.eq_ignore_ascii_case("y"));
        let (Some(x_name), true) = (x_name, has_y) else {
            bail!("name the time column and the columns to plot: ?x=TIME&y=COLUMN[,COLUMN…]");
        };
        url.query_pairs_mut().clear().extend_pairs(&kept);
        let http = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(60)).build()?;
        Ok(ArchiveSeries { url, x_name, latest: None, asked: None, in_flight: None, error: None, http })
    }

    /// Takes a finished answer, if one came; true when it did.
    pub fn poll(&mut self) -> bool {
        let Some(receiver) = &self.in_flight else { return false };
        let (view, outcome) = match receiver.try_recv() {
            Ok(answer) => answer,
            Err(std::sync::mpsc::TryRecvError::Empty) => return false,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.in_flight = None;
                return false;
            }
        };
        self.in_flight = None;
        match outcome {
            Ok(answer) => {
                self.latest = Some(answer);
                self.error = None;
            }
            Err(error) => {
                // Asked again only when the view changes: a dead server is not hammered.
                self.error = Some(error);
                self.asked = Some(view);
            }
        }
        true
    }

    pub fn waiting(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Asks for `view` unless it was the last asked or a request is still out; `wake` is
    /// called when the answer is in.
    pub fn want(&mut self, view: View, wake: impl Fn() + Send + 'static) {
        if self.in_flight.is_some() || self.asked == Some(view) {
            return;
        }
        self.asked = Some(view);
        let mut url = self.url.clone();
        {
            let mut query = url.query_pairs_mut();
            if view.low.is_finite() && view.high.is_finite() {
                query.append_pair("start", &view.low.to_string()).append_pair("end", &view.high.to_string());
            }
            query.append_pair("width", &view.pixels.max(1).to_string()).append_pair("format", "json");
        }
        let (sender, receiver) = channel();
        self.in_flight = Some(receiver);
        let http = self.http.clone();
        let spawned = std::thread::Builder::new().name("series".into()).spawn(move || {
            let _ = sender.send((view, fetch(&http, url).map_err(|e| format!("{e:#}"))));
            wake();
        });
        if let Err(error) = spawned {
            self.in_flight = None;
            self.error = Some(format!("cannot start a request: {error}"));
        }
    }
}

fn fetch(client: &reqwest::blocking::Client, url: reqwest::Url) -> Result<Answer> {
    let response = client
        .get(url.clone())
        .send()
        .with_context(|| format!("cannot reach {}", url.origin().ascii_serialization()))?;
    let status = response.status();
    let bytes = response.bytes().with_context(|| format!("the series answer ({status}) was cut short"))?;
    let body: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("the series answer ({status}) is not JSON"))?;
    if !status.is_success() {
        let said = body.get("error").and_then(|e| e.as_str()).unwrap_or("no reason given");
        bail!("the archive refused the series: {said}");
    }
    let numbers = |value: &serde_json::Value| -> Vec<f64> {
        value.as_array().map(|items| items.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect()).unwrap_or_default()
    };
    let series = body
        .get("series")
        .and_then(|s| s.as_array())
        .context("the answer has no series")?
        .iter()
        .map(|one| {
            let (x, y) = (numbers(&one["x"]), numbers(&one["y"]));
            let (x, y) = x.into_iter().zip(y).filter(|(x, y)| x.is_finite() && y.is_finite()).unzip();
            PlotSeries { name: one["name"].as_str().unwrap_or("?").to_owned(), x, y }
        })
        .collect();
    Ok(Answer { rows: body["rows"].as_u64().unwrap_or(0), series })
}

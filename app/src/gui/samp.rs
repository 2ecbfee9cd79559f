//! The app in SAMP conversations: it joins the hub its lockfile names, or starts a hub of
//! its own in-process when none answers, then talks as a client. The conversation runs on
//! a thread of its own (a small tokio runtime); the UI reads its state and events each
//! frame and hands it what to send.

use skyglass_samp::value::map;
use skyglass_samp::{Client, Hub, Map, Received, SampValue};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

/// What another application asked of the app.
#[derive(Debug)]
pub enum Asked {
    /// coord.pointAt.sky: look at this ICRS position (degrees).
    PointAt { ra: f64, dec: f64 },
    /// A web page asks to join through the Web Profile: the user says yes or no.
    WebClient { name: String, origin: String, answer: tokio::sync::oneshot::Sender<bool> },
    /// table.load.votable or table.load.fits: a table to open, read already.
    Table { name: String, table_id: Option<String>, url: String, tables: Vec<super::plot::PlotTable> },
    /// coverage.load.moc.fits: a MOC to show, read already.
    Moc { name: String, moc: skyglass_sky::SpaceMoc },
    /// image.load.fits: an image with its WCS, read already.
    Image { name: String, image: Box<skyglass_votable::fits::FitsImage>, wcs: skyglass_sky::ImageWcs },
    /// table.highlight.row: this row of a table the app holds (by its table-id or URL).
    Highlight { table: TableKey, row: usize },
    /// table.select.rowList: these rows.
    Select { table: TableKey, rows: Vec<usize> },
}

/// How SAMP names a table: the sender's table-id, and the URL it was loaded from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableKey {
    pub table_id: Option<String>,
    pub url: Option<String>,
}

impl TableKey {
    /// Whether a message about `other` is about this table.
    pub fn matches(&self, other: &TableKey) -> bool {
        (self.table_id.is_some() && self.table_id == other.table_id) || (self.url.is_some() && self.url == other.url)
    }
}

/// How the app takes part in SAMP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampMode {
    /// Join the running hub; when none runs (or it stops), run one in the app.
    Hub,
    /// Only join a hub someone else runs; wait for one when there is none.
    Join,
}

/// How often a link without a hub looks for one again.
const RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a web page waits for the user before it is refused.
const CONSENT_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// What the UI sends.
pub enum Outgoing {
    /// coord.pointAt.sky to every subscribed client.
    PointAt {
        ra: f64,
        dec: f64,
    },
    /// table.load.votable to every subscribed client: the VOTable is served from the app's
    /// loopback HTTP server for them to read. `sent` hears the table's key, for the
    /// highlights and selections that follow.
    Table {
        name: String,
        votable: Vec<u8>,
        sent: Option<Sender<TableKey>>,
    },
    /// coverage.load.moc.fits: a MOC (FITS), served the same way.
    Moc {
        name: String,
        fits: Vec<u8>,
    },
    /// image.load.fits: an image (FITS with its WCS), served the same way.
    Image {
        name: String,
        fits: Vec<u8>,
    },
    /// table.highlight.row and table.select.rowList about a table others hold.
    Highlight {
        table: TableKey,
        row: usize,
    },
    Select {
        table: TableKey,
        rows: Vec<usize>,
    },
    /// Unregister, and stop the hub if it is the app's own (the app is closing).
    Leave,
}

/// Files the app has sent, kept for the clients to read: the latest few.
const KEPT_TABLES: usize = 8;

/// Files served, by number: their bytes and content type.
type Kept = Arc<Mutex<std::collections::VecDeque<(u64, Vec<u8>, &'static str)>>>;

/// The app's loopback HTTP server for the tables, MOCs and images it sends.
struct TableServer {
    url: String,
    tables: Kept,
    next: u64,
}

impl TableServer {
    async fn start() -> std::io::Result<TableServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let tables: Kept = Arc::default();
        let serving = Arc::clone(&tables);
        let router = axum::Router::new().route(
            "/table/{file}",
            axum::routing::get(move |axum::extract::Path(file): axum::extract::Path<String>| {
                let serving = Arc::clone(&serving);
                async move {
                    use axum::response::IntoResponse as _;
                    let id: Option<u64> = file.split('.').next().and_then(|n| n.parse().ok());
                    let found = serving
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .iter()
                        .find(|(kept, _, _)| Some(*kept) == id)
                        .map(|(_, bytes, kind)| (bytes.clone(), *kind));
                    match found {
                        Some((bytes, kind)) => ([(axum::http::header::CONTENT_TYPE, kind)], bytes).into_response(),
                        None => (axum::http::StatusCode::NOT_FOUND, "no such table (only the latest are kept)")
                            .into_response(),
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(TableServer { url, tables, next: 0 })
    }

    /// Keeps a file to serve (`extension` says its type: vot or fits); its number and URL.
    fn keep(&mut self, bytes: Vec<u8>, extension: &str) -> (u64, String) {
        self.next += 1;
        let kind = if extension == "vot" { "application/x-votable+xml" } else { "application/fits" };
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        tables.push_back((self.next, bytes, kind));
        while tables.len() > KEPT_TABLES {
            tables.pop_front();
        }
        (self.next, format!("{}/table/{}.{extension}", self.url, self.next))
    }
}

#[derive(Clone, Debug, Default)]
pub struct LinkState {
    /// "hub of its own at URL", "joined the hub at URL", or why there is none.
    pub status: String,
    pub connected: bool,
    /// Other clients: id and name (the hub included).
    pub clients: Vec<(String, String)>,
    pub self_id: String,
}

pub struct SampLink {
    pub state: Arc<Mutex<LinkState>>,
    asked: Receiver<Asked>,
    sending: tokio::sync::mpsc::UnboundedSender<Outgoing>,
    /// Closed when the conversation has ended.
    ended: Receiver<()>,
}

impl SampLink {
    /// Starts the conversation on the hub `lockfile` names (started here if none answers);
    /// `wake` is called when something changes.
    /// When the app runs its own hub, it serves the Web Profile on `web` too (SAMP's port
    /// is 21012), asking the user before any page joins.
    pub fn start(
        lockfile: PathBuf,
        web: Option<std::net::SocketAddr>,
        mode: SampMode,
        wake: impl Fn() + Send + Sync + 'static,
    ) -> SampLink {
        let state = Arc::new(Mutex::new(LinkState { status: "starting…".to_owned(), ..LinkState::default() }));
        let (asked_sender, asked) = channel();
        let (sending, outgoing) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::clone(&state);
        let (ended_sender, ended) = channel::<()>();
        let spawned = std::thread::Builder::new().name("samp".into()).spawn(move || {
            let _ended = ended_sender;
            let wake = Arc::new(wake);
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => return set_status(&shared, format!("SAMP off: {error}"), &*wake),
            };
            runtime.block_on(converse(lockfile, web, mode, shared, asked_sender, outgoing, wake));
        });
        if let Err(error) = spawned {
            state.lock().unwrap_or_else(PoisonError::into_inner).status = format!("SAMP off: {error}");
        }
        SampLink { state, asked, sending, ended }
    }

    /// Leaves the conversation: unregisters, and when the hub is the app's own, tells its
    /// clients it is going and removes its lockfile. Waits a little for that, no more.
    pub fn leave(&self) {
        let _ = self.sending.send(Outgoing::Leave);
        let _ = self.ended.recv_timeout(std::time::Duration::from_secs(3));
    }

    pub fn state(&self) -> LinkState {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// What was asked since the last frame.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.try_iter().collect()
    }

    /// A handle for sending from other threads.
    pub fn sender(&self) -> tokio::sync::mpsc::UnboundedSender<Outgoing> {
        self.sending.clone()
    }

    pub fn send(&self, message: Outgoing) {
        let _ = self.sending.send(message);
    }
}

fn set_status(state: &Mutex<LinkState>, status: String, wake: &(dyn Fn() + Send + Sync)) {
    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
    state.status = status;
    state.connected = false;
    drop(state);
    wake();
}

/// The conversation, one hub after another: when the hub goes (another application's hub
/// stopping), the link joins the next one that answers, or runs its own (`SampMode::Hub`).
async fn converse(
    lockfile: PathBuf,
    web: Option<std::net::SocketAddr>,
    mode: SampMode,
    state: Arc<Mutex<LinkState>>,
    asked: Sender<Asked>,
    mut outgoing: tokio::sync::mpsc::UnboundedReceiver<Outgoing>,
    wake: Arc<dyn Fn() + Send + Sync>,
) {
    loop {
        let link = Link { lockfile: &lockfile, web, mode, state: &state, asked: &asked, wake: &wake };
        if session(link, &mut outgoing).await == Ended::Leave {
            return;
        }
        // No hub for now: look again in a moment; the app closing ends the wait, and what it
        // sends meanwhile has no one to go to.
        tokio::select! {
            () = tokio::time::sleep(RETRY) => {}
            message = outgoing.recv() => {
                if matches!(message, None | Some(Outgoing::Leave)) {
                    return;
                }
            }
        }
    }
}

/// What a session needs of the link.
#[derive(Clone, Copy)]
struct Link<'a> {
    lockfile: &'a std::path::Path,
    web: Option<std::net::SocketAddr>,
    mode: SampMode,
    state: &'a Arc<Mutex<LinkState>>,
    asked: &'a Sender<Asked>,
    wake: &'a Arc<dyn Fn() + Send + Sync>,
}

#[derive(Debug, PartialEq)]
enum Ended {
    /// The app is closing.
    Leave,
    /// The hub went away, or none answered.
    NoHub,
}

/// One hub's conversation: join it (or start one), then deliver both ways until it ends.
async fn session(link: Link<'_>, outgoing: &mut tokio::sync::mpsc::UnboundedReceiver<Outgoing>) -> Ended {
    let Link { lockfile, web, mode, state, asked, wake } = link;
    // Join a hub that answers; else run one here (it replaces a dead hub's lockfile).
    let mut own_hub = None;
    let joined = match Client::register(lockfile, metadata(), SUBSCRIPTIONS).await {
        Ok(joined) => Ok((joined, "joined the hub".to_owned())),
        Err(error) if mode == SampMode::Join => Err(error),
        Err(_) => match start_hub(lockfile, web, asked.clone(), Arc::clone(wake)).await {
            Ok(hub) => {
                let url = hub.url();
                own_hub = Some(hub);
                Client::register(lockfile, metadata(), SUBSCRIPTIONS)
                    .await
                    .map(|joined| (joined, format!("hub of its own at {url}")))
            }
            Err(error) => Err(error),
        },
    };
    let ((client, mut inbox), how) = match joined {
        Ok(joined) => joined,
        Err(error) => {
            let waiting = match mode {
                SampMode::Join => format!("SAMP: waiting for a hub ({error})"),
                SampMode::Hub => format!("SAMP off: {error}"),
            };
            set_status(state, waiting, &**wake);
            return Ended::NoHub;
        }
    };
    {
        let mut shared = state.lock().unwrap_or_else(PoisonError::into_inner);
        shared.status = how;
        shared.connected = true;
        shared.self_id = client.id.clone();
    }
    refresh_clients(&client, state).await;
    wake();
    let mut tables: Option<TableServer> = None;
    let mut ended = Ended::NoHub;
    // A hub that dies without a word (killed, or its shutdown lost) is noticed by ping.
    let mut heartbeat = tokio::time::interval(RETRY);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {
                if own_hub.is_none() && client.hub("samp.hub.ping", Vec::new()).await.is_err() {
                    break;
                }
            }
            received = inbox.recv() => {
                let Some(received) = received else { break };
                if handle(&client, received, asked, state).await {
                    break;
                }
                wake();
            }
            message = outgoing.recv() => {
                let message = match message {
                    Some(Outgoing::PointAt { ra, dec }) => map([
                        ("samp.mtype", SampValue::str("coord.pointAt.sky")),
                        ("samp.params", map([("ra", SampValue::String(ra.to_string())), ("dec", SampValue::String(dec.to_string()))])),
                    ]),
                    Some(Outgoing::Table { name, votable, sent }) => {
                        let Some((id, url)) = serve(&mut tables, votable, "vot").await else { continue };
                        let table_id = format!("skyglass-{id}");
                        if let Some(sent) = sent {
                            let _ = sent.send(TableKey { table_id: Some(table_id.clone()), url: Some(url.clone()) });
                        }
                        string_message("table.load.votable", [("url", url), ("table-id", table_id), ("name", name)])
                    }
                    Some(Outgoing::Moc { name, fits }) => {
                        let Some((_, url)) = serve(&mut tables, fits, "fits").await else { continue };
                        string_message("coverage.load.moc.fits", [("url", url), ("name", name)])
                    }
                    Some(Outgoing::Image { name, fits }) => {
                        let Some((id, url)) = serve(&mut tables, fits, "fits").await else { continue };
                        string_message("image.load.fits", [("url", url), ("image-id", format!("skyglass-{id}")), ("name", name)])
                    }
                    Some(Outgoing::Highlight { table, row }) => {
                        let mut params = table_params(&table);
                        params.insert("row".to_owned(), SampValue::String(row.to_string()));
                        map([("samp.mtype", SampValue::str("table.highlight.row")), ("samp.params", SampValue::Map(params))])
                    }
                    Some(Outgoing::Select { table, rows }) => {
                        let mut params = table_params(&table);
                        let rows = rows.iter().map(|r| SampValue::String(r.to_string())).collect();
                        params.insert("row-list".to_owned(), SampValue::List(rows));
                        map([("samp.mtype", SampValue::str("table.select.rowList")), ("samp.params", SampValue::Map(params))])
                    }
                    Some(Outgoing::Leave) | None => {
                        let _ = client.unregister().await;
                        ended = Ended::Leave;
                        break;
                    }
                };
                if let Err(error) = client.hub("samp.hub.notifyAll", vec![message]).await {
                    tracing::warn!("SAMP: cannot send: {error}");
                }
            }
        }
    }
    if ended == Ended::NoHub {
        let next = match mode {
            SampMode::Join => "SAMP: the hub has gone; waiting for another",
            SampMode::Hub => "SAMP: the hub has gone; starting one",
        };
        set_status(state, next.to_owned(), &**wake);
    } else {
        set_status(state, "SAMP off".to_owned(), &**wake);
    }
    if let Some(hub) = own_hub {
        hub.shutdown().await;
    }
    ended
}

const SUBSCRIPTIONS: &[&str] = &[
    "coord.pointAt.sky",
    "table.load.votable",
    "table.load.fits",
    "table.highlight.row",
    "table.select.rowList",
    "coverage.load.moc.fits",
    "image.load.fits",
    "samp.app.ping",
    "samp.hub.event.*",
];

/// A message of string parameters.
fn string_message<const N: usize>(mtype: &str, params: [(&str, String); N]) -> SampValue {
    map([("samp.mtype", SampValue::str(mtype)), ("samp.params", map(params.map(|(k, v)| (k, SampValue::String(v)))))])
}

/// The table-id and url parameters that name a table.
fn table_params(table: &TableKey) -> Map {
    let mut params = Map::new();
    if let Some(id) = &table.table_id {
        params.insert("table-id".to_owned(), SampValue::String(id.clone()));
    }
    if let Some(url) = &table.url {
        params.insert("url".to_owned(), SampValue::String(url.clone()));
    }
    params
}

/// Keeps bytes on the loopback server (started on first use); their number and URL.
async fn serve(server: &mut Option<TableServer>, bytes: Vec<u8>, extension: &str) -> Option<(u64, String)> {
    if server.is_none() {
        *server = TableServer::start().await.map_err(|e| tracing::warn!("SAMP: cannot serve files: {e}")).ok();
    }
    Some(server.as_mut()?.keep(bytes, extension))
}

fn metadata() -> Map {
    [
        ("samp.name", "Skyglass"),
        ("samp.description.text", "Skyglass, the sky and data explorer: HiPS surveys, catalogues, telemetry"),
        ("author.name", "Skyglass"),
        ("skyglass.version", env!("CARGO_PKG_VERSION")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), SampValue::str(v)))
    .collect()
}

async fn start_hub(
    lockfile: &std::path::Path,
    web: Option<std::net::SocketAddr>,
    asked: Sender<Asked>,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Result<Arc<Hub>, skyglass_samp::SampError> {
    let hub = Hub::new()?;
    if let Some(address) = web {
        // Each page that asks to join waits for the user's answer in the SAMP window.
        let asked = Mutex::new(asked);
        hub.set_web_consent(Arc::new(move |registration: skyglass_samp::hub::WebRegistration| {
            let (answer, decided) = tokio::sync::oneshot::channel();
            let origin = registration.origin.unwrap_or_else(|| "an unknown origin".to_owned());
            let sent = asked.lock().unwrap_or_else(PoisonError::into_inner).send(Asked::WebClient {
                name: registration.name,
                origin,
                answer,
            });
            wake();
            Box::pin(async move {
                sent.is_ok() && matches!(tokio::time::timeout(CONSENT_WAIT, decided).await, Ok(Ok(true)))
            })
        }));
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => {
                let serving = Arc::clone(&hub);
                tokio::spawn(async move { serving.serve_web(listener).await });
            }
            // Another program holds the port (a browser hub, say): the Standard Profile is
            // enough for the desktop.
            Err(error) => tracing::info!("SAMP Web Profile not served on {address}: {error}"),
        }
    }
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| skyglass_samp::SampError::Io(e.to_string()))?;
    let serving = Arc::clone(&hub);
    let path = lockfile.to_path_buf();
    tokio::spawn(async move {
        if let Err(error) = serving.serve(listener, Some(path)).await {
            tracing::warn!("SAMP hub: {error}");
        }
    });
    // The lockfile is written before the hub is reachable through it: wait for that.
    for _ in 0..100 {
        if skyglass_samp::lockfile::read(lockfile)
            .is_ok_and(|keys| keys.get("samp.secret").map(String::as_str) == Some(hub.secret()))
        {
            return Ok(hub);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Err(skyglass_samp::SampError::Lockfile("the hub did not start".to_owned()))
}

async fn refresh_clients(client: &Client, state: &Mutex<LinkState>) {
    let Ok(SampValue::List(ids)) = client.hub("samp.hub.getRegisteredClients", Vec::new()).await else { return };
    let mut clients = Vec::new();
    for id in ids.iter().filter_map(SampValue::as_str) {
        let name = match client.hub("samp.hub.getMetadata", vec![SampValue::str(id)]).await {
            Ok(metadata) => metadata.get("samp.name").and_then(SampValue::as_str).unwrap_or(id).to_owned(),
            Err(_) => id.to_owned(),
        };
        clients.push((id.to_owned(), name));
    }
    state.lock().unwrap_or_else(PoisonError::into_inner).clients = clients;
}

/// Acts on one delivery; true when the hub is going away.
async fn handle(client: &Client, received: Received, asked: &Sender<Asked>, state: &Mutex<LinkState>) -> bool {
    let (message, call) = match received {
        Received::Notification { message, .. } => (message, None),
        Received::Call { message_id, message, .. } => (message, Some(message_id)),
        Received::Response { .. } => return false,
    };
    let mtype = message.get("samp.mtype").and_then(SampValue::as_str).unwrap_or_default().to_owned();
    let param = |name: &str| {
        message.get("samp.params").and_then(|p| p.get(name)).and_then(SampValue::as_str).map(str::to_owned)
    };
    let outcome: Result<(), String> = match mtype.as_str() {
        "coord.pointAt.sky" => {
            match (param("ra").and_then(|v| v.trim().parse().ok()), param("dec").and_then(|v| v.trim().parse().ok())) {
                (Some(ra), Some(dec)) if (-90.0..=90.0).contains(&dec) && f64::is_finite(ra) => {
                    let _ = asked.send(Asked::PointAt { ra, dec });
                    Ok(())
                }
                _ => Err("coord.pointAt.sky needs ra and dec in degrees".to_owned()),
            }
        }
        "table.load.votable" | "table.load.fits" => match param("url") {
            Some(url) => {
                let format = if mtype.ends_with("fits") {
                    skyglass_votable::TableFormat::Fits
                } else {
                    skyglass_votable::TableFormat::VoTable
                };
                let name = param("name").unwrap_or_else(|| url.rsplit('/').next().unwrap_or("table").to_owned());
                let source = url.clone();
                let read = tokio::task::spawn_blocking(move || {
                    super::plot::table::download_tables_as(&source, Some(format)).map_err(|e| format!("{e:#}"))
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
                read.map(|tables| {
                    let _ = asked.send(Asked::Table { name, table_id: param("table-id"), url, tables });
                })
            }
            None => Err(format!("{mtype} needs a url")),
        },
        "coverage.load.moc.fits" => match param("url") {
            Some(url) => {
                let name = param("name").unwrap_or_else(|| url.rsplit('/').next().unwrap_or("MOC").to_owned());
                let read = tokio::task::spawn_blocking(move || read_moc_url(&url).map_err(|e| format!("{e:#}")))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                read.map(|moc| {
                    let _ = asked.send(Asked::Moc { name, moc });
                })
            }
            None => Err("coverage.load.moc.fits needs a url".to_owned()),
        },
        "image.load.fits" => match param("url") {
            Some(url) => {
                let name = param("name").unwrap_or_else(|| url.rsplit('/').next().unwrap_or("image").to_owned());
                let read = tokio::task::spawn_blocking(move || read_image_url(&url).map_err(|e| format!("{e:#}")))
                    .await
                    .unwrap_or_else(|e| Err(e.to_string()));
                read.map(|(image, wcs)| {
                    let _ = asked.send(Asked::Image { name, image: Box::new(image), wcs });
                })
            }
            None => Err("image.load.fits needs a url".to_owned()),
        },
        "table.highlight.row" => {
            let table = TableKey { table_id: param("table-id"), url: param("url") };
            match param("row").and_then(|r| r.trim().parse().ok()) {
                Some(row) => {
                    let _ = asked.send(Asked::Highlight { table, row });
                    Ok(())
                }
                None => Err("table.highlight.row needs a row number".to_owned()),
            }
        }
        "table.select.rowList" => {
            let table = TableKey { table_id: param("table-id"), url: param("url") };
            let rows = message.get("samp.params").and_then(|p| p.get("row-list"));
            match rows {
                Some(SampValue::List(rows)) => {
                    let rows = rows.iter().filter_map(|r| r.as_str()?.trim().parse().ok()).collect();
                    let _ = asked.send(Asked::Select { table, rows });
                    Ok(())
                }
                _ => Err("table.select.rowList needs a row-list".to_owned()),
            }
        }
        "samp.hub.event.shutdown" => return true,
        "samp.hub.event.register" | "samp.hub.event.unregister" | "samp.hub.event.metadata" => {
            refresh_clients(client, state).await;
            Ok(())
        }
        _ => Ok(()),
    };
    if let Some(message_id) = call {
        let response = match outcome {
            Ok(()) => map([("samp.status", SampValue::str("samp.ok")), ("samp.result", SampValue::Map(Map::new()))]),
            Err(error) => map([
                ("samp.status", SampValue::str("samp.error")),
                ("samp.error", map([("samp.errortxt", SampValue::String(error))])),
            ]),
        };
        if let Err(error) = client.reply(&message_id, response).await {
            tracing::warn!("SAMP: cannot reply: {error}");
        }
    }
    false
}

/// The bytes of a file:// or http(s) URL, gunzipped if need be.
fn read_url(url: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = match reqwest::Url::parse(url).ok().filter(|u| u.scheme() == "file") {
        Some(file) => {
            let path = file.to_file_path().map_err(|()| anyhow::anyhow!("{url} is not a local path"))?;
            std::fs::read(&path)?
        }
        None => reqwest::blocking::get(url)?.error_for_status()?.bytes()?.to_vec(),
    };
    crate::convert::gunzip_if_gzipped(bytes, url)
}

/// A MOC from a file:// or http(s) URL.
fn read_moc_url(url: &str) -> anyhow::Result<skyglass_sky::SpaceMoc> {
    super::coverage::read_moc(&read_url(url)?)
}

/// A FITS image with its WCS from a file:// or http(s) URL.
fn read_image_url(url: &str) -> anyhow::Result<(skyglass_votable::fits::FitsImage, skyglass_sky::ImageWcs)> {
    super::coverage::read_image(&read_url(url)?).ok_or_else(|| anyhow::anyhow!("{url} holds no FITS image"))?
}

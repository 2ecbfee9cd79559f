//! The hub (SAMP 1.3 Standard Profile): clients, their metadata and subscriptions, and
//! message delivery. Every client has its own queue and delivery task, so a slow or dead
//! client never holds up the hub or the others; a client whose callback cannot be reached
//! is unregistered. Queues are bounded: a message that does not fit is refused to its
//! sender with a fault, never dropped silently.

use crate::value::{Map, SampValue, map};
use crate::{SampError, lockfile, xmlrpc};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The hub's own client id.
pub const HUB_ID: &str = "hub";
/// Messages waiting for one client at most.
pub const QUEUE: usize = 10_000;
/// Bytes waiting for one client at most (a few huge messages fill a queue too).
pub const QUEUE_BYTES: usize = 64 << 20;
/// The longest a delivery may take before its client counts as gone.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest a callAndWait may wait, whatever the caller asks.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// A call from a client to one of its callbacks: method and parameters after the
/// recipient's private key.
struct Delivery {
    method: &'static str,
    params: Vec<SampValue>,
    size: usize,
}

struct Client {
    key: String,
    metadata: Map,
    subscriptions: Map,
    /// Set once the client has given a callback URL (then it is callable).
    outbox: Option<mpsc::Sender<Delivery>>,
    /// Bytes in the outbox, for the QUEUE_BYTES bound.
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// A Web Profile client's callbacks, waiting for it to pull them.
    mailbox: Option<Arc<Mailbox>>,
    /// Registered through the Web Profile (a browser page).
    web: bool,
}

/// Callbacks for a Web Profile client, which cannot be called and pulls them instead.
#[derive(Default)]
struct Mailbox {
    waiting: Mutex<std::collections::VecDeque<SampValue>>,
    arrived: tokio::sync::Notify,
}

/// Who asks to register through the Web Profile: its declared name and the page's origin.
#[derive(Clone, Debug)]
pub struct WebRegistration {
    pub name: String,
    pub origin: Option<String>,
}

/// Decides whether a Web Profile client may register (the user's consent): true to allow.
pub type Consent =
    Arc<dyn Fn(WebRegistration) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> + Send + Sync>;

/// Where a client's callbacks go.
enum Target {
    Http(String),
    Pull(Arc<Mailbox>),
}

enum Waiting {
    /// A call whose response goes back to its sender through receiveResponse.
    Call { sender: String, tag: String, recipient: String },
    /// A callAndWait: the response goes straight to the waiting request.
    Wait { recipient: String, answer: oneshot::Sender<SampValue> },
}

#[derive(Default)]
struct State {
    clients: HashMap<String, Client>,
    ids_by_key: HashMap<String, String>,
    next_client: u64,
    next_message: u64,
    waiting: HashMap<String, Waiting>,
}

pub struct Hub {
    secret: String,
    url: Mutex<String>,
    state: Mutex<State>,
    http: reqwest::Client,
    lockfile: Mutex<Option<PathBuf>>,
    closed: AtomicBool,
    /// Whom the Web Profile lets register; nobody until set.
    consent: Mutex<Option<Consent>>,
}

type Fault = (i32, String);

fn fault(message: impl Into<String>) -> Fault {
    (1, message.into())
}

/// Secrets and keys from the system's randomness; without it they would be guessable, so
/// there is no fallback.
fn random_hex(bytes: usize) -> Result<String, SampError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer)
        .map_err(|error| SampError::Io(format!("no system randomness for SAMP keys: {error}")))?;
    Ok(buffer.iter().map(|b| format!("{b:02x}")).collect())
}

impl Hub {
    pub fn new() -> Result<Arc<Hub>, SampError> {
        let http = reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .no_proxy()
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        let hub = Hub {
            secret: random_hex(16)?,
            url: Mutex::new(String::new()),
            state: Mutex::new(State::default()),
            http,
            lockfile: Mutex::new(None),
            closed: AtomicBool::new(false),
            consent: Mutex::new(None),
        };
        {
            let mut state = hub.lock();
            let metadata: Map = [
                ("samp.name", "Skyglass hub"),
                ("samp.description.text", "The SAMP hub of Skyglass, the sky and data explorer"),
                ("author.name", "Skyglass"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), SampValue::str(v)))
            .collect();
            let subscriptions: Map = ["samp.app.ping", "samp.hub.event.*"]
                .into_iter()
                .map(|m| (m.to_owned(), SampValue::Map(Map::new())))
                .collect();
            state.clients.insert(
                HUB_ID.to_owned(),
                Client {
                    key: String::new(),
                    metadata,
                    subscriptions,
                    outbox: None,
                    queued: Arc::default(),
                    mailbox: None,
                    web: false,
                },
            );
        }
        Ok(Arc::new(hub))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn url(&self) -> String {
        self.url.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The ids of the registered clients, the hub's included.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().clients.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Serves the Standard Profile on `listener` and, when `lockfile` is given, writes it
    /// (a live hub's lockfile is left alone: an error; a dead hub's is replaced). Runs until
    /// [`Hub::shutdown`].
    pub async fn serve(
        self: &Arc<Hub>,
        listener: tokio::net::TcpListener,
        lockfile: Option<PathBuf>,
    ) -> Result<(), SampError> {
        let address = listener.local_addr().map_err(|e| SampError::Io(e.to_string()))?;
        let url = format!("http://{address}/xmlrpc");
        *self.url.lock().unwrap_or_else(PoisonError::into_inner) = url.clone();
        if let Some(path) = &lockfile {
            claim_lockfile(path, &self.http).await?;
            lockfile::write(path, &url, &self.secret)?;
            *self.lockfile.lock().unwrap_or_else(PoisonError::into_inner) = Some(path.clone());
        }
        let hub = Arc::clone(self);
        let router = axum::Router::new()
            .route("/xmlrpc", axum::routing::post(handle))
            .route("/", axum::routing::post(handle))
            .layer(axum::extract::DefaultBodyLimit::max(xmlrpc::LARGEST_REQUEST))
            .with_state(hub);
        self.serve_until_closed(listener, router).await
    }

    /// Serves `router` until [`Hub::shutdown`].
    async fn serve_until_closed(
        self: &Arc<Hub>,
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> Result<(), SampError> {
        let closing = Arc::clone(self);
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                while !closing.closed.load(Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .map_err(|e| SampError::Io(e.to_string()))
    }

    /// Tells every client the hub is going (samp.hub.event.shutdown), gives their queues a
    /// moment to empty, removes the lockfile and stops serving.
    pub async fn shutdown(&self) {
        self.broadcast_event("samp.hub.event.shutdown", Map::new(), None);
        for _ in 0..40 {
            let busy = self.lock().clients.values().any(|c| c.queued.load(Ordering::Acquire) > 0);
            if !busy {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(path) = self.lockfile.lock().unwrap_or_else(PoisonError::into_inner).take() {
            lockfile::remove_if_ours(&path, &self.secret);
        }
        self.closed.store(true, Ordering::Release);
    }

    /// One XML-RPC method of the hub.
    async fn dispatch(
        self: &Arc<Hub>,
        method: &str,
        params: Vec<SampValue>,
        web: Option<Option<String>>,
    ) -> Result<SampValue, Fault> {
        let name = match &web {
            None => method.strip_prefix("samp.hub."),
            Some(_) => method.strip_prefix("samp.webhub."),
        }
        .ok_or_else(|| fault(format!("no method {method}")))?;
        match name {
            "ping" => return Ok(SampValue::str("")),
            "register" if web.is_some() => {
                let origin = web.clone().flatten();
                return self.register_web(params.first(), origin).await;
            }
            "register" => {
                let secret = params
                    .first()
                    .and_then(SampValue::as_str)
                    .ok_or_else(|| fault("register takes the hub's secret"))?;
                return self.register(secret);
            }
            _ => {}
        }
        let key = params
            .first()
            .and_then(SampValue::as_str)
            .ok_or_else(|| fault(format!("{method} takes a private key first")))?;
        let caller = self.lock().ids_by_key.get(key).cloned().ok_or_else(|| fault("unknown private key"))?;
        // Each profile's clients use its own port: a page's key opens nothing on the
        // Standard Profile's, and the other way round.
        let web_client = self.lock().clients.get(&caller).is_some_and(|c| c.web);
        if web_client != web.is_some() {
            return Err(fault("that key belongs to the other profile"));
        }
        let text = |index: usize, what: &str| -> Result<String, Fault> {
            params
                .get(index)
                .and_then(SampValue::as_str)
                .map(str::to_owned)
                .ok_or_else(|| fault(format!("{method}: {what} must be a string")))
        };
        let mapped = |index: usize, what: &str| -> Result<Map, Fault> {
            params
                .get(index)
                .and_then(SampValue::as_map)
                .cloned()
                .ok_or_else(|| fault(format!("{method}: {what} must be a map")))
        };
        match name {
            "unregister" => {
                self.unregister(&caller);
                Ok(SampValue::str(""))
            }
            "declareMetadata" => {
                let metadata = mapped(1, "the metadata")?;
                if let Some(client) = self.lock().clients.get_mut(&caller) {
                    client.metadata = metadata.clone();
                }
                self.client_event(&("samp.hub.event.metadata", caller.clone(), SampValue::Map(metadata)));
                Ok(SampValue::str(""))
            }
            "declareSubscriptions" => {
                let subscriptions = mapped(1, "the subscriptions")?;
                if let Some(client) = self.lock().clients.get_mut(&caller) {
                    client.subscriptions = subscriptions.clone();
                }
                self.client_event(&("samp.hub.event.subscriptions", caller.clone(), SampValue::Map(subscriptions)));
                Ok(SampValue::str(""))
            }
            "getMetadata" | "getSubscriptions" => {
                let id = text(1, "the client id")?;
                let state = self.lock();
                let client = state.clients.get(&id).ok_or_else(|| fault(format!("no client {id}")))?;
                Ok(SampValue::Map(if name == "getMetadata" {
                    client.metadata.clone()
                } else {
                    client.subscriptions.clone()
                }))
            }
            "getRegisteredClients" => {
                let state = self.lock();
                let mut ids: Vec<&String> = state.clients.keys().filter(|id| **id != caller).collect();
                ids.sort();
                Ok(SampValue::List(ids.into_iter().map(|id| SampValue::str(id.clone())).collect()))
            }
            "getSubscribedClients" => {
                let mtype = text(1, "the MType")?;
                let state = self.lock();
                let found: Map = state
                    .clients
                    .iter()
                    .filter(|(id, _)| **id != caller)
                    .filter_map(|(id, client)| subscription(client, &mtype).map(|note| (id.clone(), note)))
                    .collect();
                Ok(SampValue::Map(found))
            }
            "allowReverseCallbacks" if web.is_some() => {
                if matches!(text(1, "the allow flag")?.trim(), "1" | "true" | "True") {
                    self.set_target(&caller, Target::Pull(Arc::default()));
                }
                Ok(SampValue::str(""))
            }
            "pullCallbacks" if web.is_some() => {
                let seconds: f64 = text(1, "the timeout")?
                    .trim()
                    .parse()
                    .map_err(|_| fault("the timeout must be a number of seconds"))?;
                let mailbox = self.lock().clients.get(&caller).and_then(|c| c.mailbox.clone());
                let mailbox = mailbox
                    .ok_or_else(|| fault("reverse callbacks are not allowed: call allowReverseCallbacks first"))?;
                let limit = Duration::from_secs_f64(seconds.clamp(0.0, 600.0));
                Ok(SampValue::List(pull(&mailbox, limit).await))
            }
            "setXmlrpcCallback" if web.is_none() => {
                let url = text(1, "the callback URL")?;
                self.set_target(&caller, Target::Http(url));
                Ok(SampValue::str(""))
            }
            "notify" => {
                let recipient = text(1, "the recipient id")?;
                let message = checked_message(params.get(2))?;
                self.deliver_message(
                    &caller,
                    &recipient,
                    "samp.client.receiveNotification",
                    vec![SampValue::str(caller.clone()), message],
                )?;
                Ok(SampValue::str(""))
            }
            "notifyAll" => {
                let message = checked_message(params.get(1))?;
                let mtype = mtype_of(&message);
                let sent: Vec<SampValue> = self
                    .subscribers(&caller, &mtype)
                    .into_iter()
                    .filter(|recipient| {
                        let params = vec![SampValue::str(caller.clone()), message.clone()];
                        self.deliver_message(&caller, recipient, "samp.client.receiveNotification", params).is_ok()
                    })
                    .map(SampValue::String)
                    .collect();
                Ok(SampValue::List(sent))
            }
            "call" => {
                let recipient = text(1, "the recipient id")?;
                let tag = text(2, "the message tag")?;
                let message = checked_message(params.get(3))?;
                let id = self.call(&caller, &recipient, &tag, message)?;
                Ok(SampValue::String(id))
            }
            "callAll" => {
                let tag = text(1, "the message tag")?;
                let message = checked_message(params.get(2))?;
                let mtype = mtype_of(&message);
                let mut ids = Map::new();
                for recipient in self.subscribers(&caller, &mtype) {
                    if let Ok(id) = self.call(&caller, &recipient, &tag, message.clone()) {
                        ids.insert(recipient, SampValue::String(id));
                    }
                }
                Ok(SampValue::Map(ids))
            }
            "callAndWait" => {
                let recipient = text(1, "the recipient id")?;
                let message = checked_message(params.get(2))?;
                let seconds: f64 = text(3, "the timeout")?
                    .trim()
                    .parse()
                    .map_err(|_| fault("the timeout must be a number of seconds"))?;
                let limit = if seconds > 0.0 {
                    Duration::from_secs_f64(seconds.min(LONGEST_WAIT.as_secs_f64()))
                } else {
                    LONGEST_WAIT
                };
                self.call_and_wait(&caller, &recipient, message, limit).await
            }
            "reply" => {
                let message_id = text(1, "the message id")?;
                let response = mapped(2, "the response")?;
                self.reply(&caller, &message_id, SampValue::Map(response))?;
                Ok(SampValue::str(""))
            }
            _ => Err(fault(format!("no method {method}"))),
        }
    }

    fn register(self: &Arc<Hub>, secret: &str) -> Result<SampValue, Fault> {
        if secret != self.secret {
            return Err(fault("wrong secret"));
        }
        self.add_client(false)
    }

    /// Whom the Web Profile lets register: asked for each page that tries.
    pub fn set_web_consent(&self, consent: Consent) {
        *self.consent.lock().unwrap_or_else(PoisonError::into_inner) = Some(consent);
    }

    async fn register_web(
        self: &Arc<Hub>,
        identity: Option<&SampValue>,
        origin: Option<String>,
    ) -> Result<SampValue, Fault> {
        let name = identity
            .and_then(|i| i.get("samp.name"))
            .and_then(SampValue::as_str)
            .ok_or_else(|| fault("register takes the identity map with samp.name"))?
            .to_owned();
        let consent = self.consent.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let allowed = match consent {
            Some(consent) => consent(WebRegistration { name: name.clone(), origin }).await,
            None => false,
        };
        if !allowed {
            return Err(fault(format!("registration of {name:?} was not allowed")));
        }
        self.add_client(true)
    }

    fn add_client(self: &Arc<Hub>, web: bool) -> Result<SampValue, Fault> {
        let (id, key) = {
            let mut state = self.lock();
            state.next_client += 1;
            let id = format!("c{}", state.next_client);
            let key = random_hex(16).map_err(|e| fault(e.to_string()))?;
            state.ids_by_key.insert(key.clone(), id.clone());
            state.clients.insert(
                id.clone(),
                Client {
                    key: key.clone(),
                    metadata: Map::new(),
                    subscriptions: Map::new(),
                    outbox: None,
                    queued: Arc::default(),
                    mailbox: None,
                    web,
                },
            );
            (id, key)
        };
        let params: Map = [("samp.id".to_owned(), SampValue::str(id.clone()))].into_iter().collect();
        self.broadcast_event("samp.hub.event.register", params, Some(&id));
        Ok(map([
            ("samp.private-key", SampValue::String(key)),
            ("samp.hub-id", SampValue::str(HUB_ID)),
            ("samp.self-id", SampValue::String(id)),
        ]))
    }

    /// Forgets a client: its queue closes, calls waiting on it fail, others hear of it.
    pub fn unregister(self: &Arc<Hub>, id: &str) {
        let removed = {
            let mut state = self.lock();
            let removed = state.clients.remove(id);
            if let Some(client) = &removed {
                state.ids_by_key.remove(&client.key);
            }
            // Calls to it get no answer now: callAndWait callers fail at once.
            state.waiting.retain(|_, waiting| match waiting {
                Waiting::Call { recipient, sender, .. } => recipient != id && sender != id,
                Waiting::Wait { recipient, .. } => recipient != id,
            });
            removed
        };
        if removed.is_some() {
            let params: Map = [("samp.id".to_owned(), SampValue::str(id))].into_iter().collect();
            self.broadcast_event("samp.hub.event.unregister", params, None);
        }
    }

    fn set_target(self: &Arc<Hub>, id: &str, target: Target) {
        let (sender, receiver) = mpsc::channel::<Delivery>(QUEUE);
        let (key, queued) = {
            let mut state = self.lock();
            let Some(client) = state.clients.get_mut(id) else { return };
            client.outbox = Some(sender);
            if let Target::Pull(mailbox) = &target {
                client.mailbox = Some(Arc::clone(mailbox));
            }
            (client.key.clone(), Arc::clone(&client.queued))
        };
        let hub = Arc::clone(self);
        let id = id.to_owned();
        tokio::spawn(async move { hub.deliver_to(id, key, target, receiver, queued).await });
    }

    /// One client's delivery task: its messages in order, one at a time.
    async fn deliver_to(
        self: Arc<Hub>,
        id: String,
        key: String,
        target: Target,
        mut receiver: mpsc::Receiver<Delivery>,
        queued: Arc<std::sync::atomic::AtomicUsize>,
    ) {
        while let Some(delivery) = receiver.recv().await {
            let url = match &target {
                Target::Http(url) => url,
                Target::Pull(mailbox) => {
                    // Web Profile: the callback waits as {samp.methodName, samp.params},
                    // without the private key (SAMP 1.3 §5.2.3).
                    let method = delivery.method.strip_prefix("samp.client.").unwrap_or(delivery.method);
                    let callback = map([
                        ("samp.methodName", SampValue::str(method)),
                        ("samp.params", SampValue::List(delivery.params)),
                    ]);
                    mailbox.waiting.lock().unwrap_or_else(PoisonError::into_inner).push_back(callback);
                    mailbox.arrived.notify_waiters();
                    queued.fetch_sub(delivery.size, Ordering::AcqRel);
                    continue;
                }
            };
            let mut params = Vec::with_capacity(delivery.params.len() + 1);
            params.push(SampValue::str(key.clone()));
            params.extend(delivery.params);
            let outcome = xmlrpc::call(&self.http, url, delivery.method, &params).await;
            queued.fetch_sub(delivery.size, Ordering::AcqRel);
            // A call that could not be delivered will get no reply: its sender hears so now
            // rather than waiting out its timeout. (Aladin, started offline, answers
            // table.load.votable with a fault from inside its handler.)
            let undelivered = |reason: &str| {
                if delivery.method == "samp.client.receiveCall"
                    && let Some(message_id) = params.get(2).and_then(SampValue::as_str)
                {
                    self.fail_call(&id, message_id, reason);
                }
            };
            match outcome {
                Ok(_) => {}
                Err(xmlrpc::CallError::Fault(message)) => {
                    tracing::debug!("SAMP client {id} answered {} with a fault: {message}", delivery.method);
                    undelivered(&format!("{id} could not take the call: {message}"));
                }
                Err(xmlrpc::CallError::Unreachable(message)) => {
                    tracing::info!("SAMP client {id} is gone ({message}): unregistered");
                    undelivered(&format!("{id} is gone: {message}"));
                    self.unregister(&id);
                    return;
                }
            }
        }
    }

    /// Queues a callback for `recipient`, or says why it cannot be delivered.
    fn deliver(&self, recipient: &str, method: &'static str, params: Vec<SampValue>) -> Result<(), Fault> {
        let state = self.lock();
        let client = state.clients.get(recipient).ok_or_else(|| fault(format!("no client {recipient}")))?;
        let outbox = client.outbox.as_ref().ok_or_else(|| fault(format!("client {recipient} is not callable")))?;
        let size: usize = params.iter().map(SampValue::size).sum();
        if client.queued.load(Ordering::Acquire) + size > QUEUE_BYTES {
            return Err(fault(format!("client {recipient} has too much waiting for it")));
        }
        outbox
            .try_send(Delivery { method, params, size })
            .map_err(|_| fault(format!("client {recipient} has too many messages waiting")))?;
        client.queued.fetch_add(size, Ordering::AcqRel);
        Ok(())
    }

    /// A message from `sender` for `recipient`, which must be subscribed to its MType.
    fn deliver_message(
        self: &Arc<Hub>,
        sender: &str,
        recipient: &str,
        method: &'static str,
        params: Vec<SampValue>,
    ) -> Result<(), Fault> {
        let mtype = params.last().map(mtype_of).unwrap_or_default();
        {
            let state = self.lock();
            let client = state.clients.get(recipient).ok_or_else(|| fault(format!("no client {recipient}")))?;
            if subscription(client, &mtype).is_none() {
                return Err(fault(format!("client {recipient} is not subscribed to {mtype}")));
            }
        }
        if recipient == HUB_ID {
            // The hub answers pings; its other subscriptions are events it sends itself.
            let _ = sender;
            return Ok(());
        }
        self.deliver(recipient, method, params)
    }

    fn subscribers(&self, sender: &str, mtype: &str) -> Vec<String> {
        let state = self.lock();
        let mut ids: Vec<String> = state
            .clients
            .iter()
            .filter(|(id, client)| id.as_str() != sender && subscription(client, mtype).is_some())
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn new_message_id(&self, sender: &str) -> String {
        let mut state = self.lock();
        state.next_message += 1;
        // The counter makes ids unique; SAMP asks nothing more of them.
        format!("{sender}-{}", state.next_message)
    }

    fn call(self: &Arc<Hub>, sender: &str, recipient: &str, tag: &str, message: SampValue) -> Result<String, Fault> {
        let id = self.new_message_id(sender);
        if recipient == HUB_ID {
            self.deliver_message(sender, recipient, "samp.client.receiveCall", vec![message.clone()])?;
            // The hub answers at once: a ping's empty success.
            let response = ok_response();
            self.deliver(
                sender,
                "samp.client.receiveResponse",
                vec![SampValue::str(HUB_ID), SampValue::str(tag), response],
            )?;
            return Ok(id);
        }
        self.lock().waiting.insert(
            id.clone(),
            Waiting::Call { sender: sender.to_owned(), tag: tag.to_owned(), recipient: recipient.to_owned() },
        );
        let params = vec![SampValue::str(sender), SampValue::str(id.clone()), message];
        if let Err(error) = self.deliver_message(sender, recipient, "samp.client.receiveCall", params) {
            self.lock().waiting.remove(&id);
            return Err(error);
        }
        Ok(id)
    }

    async fn call_and_wait(
        self: &Arc<Hub>,
        sender: &str,
        recipient: &str,
        message: SampValue,
        limit: Duration,
    ) -> Result<SampValue, Fault> {
        if recipient == HUB_ID {
            self.deliver_message(sender, recipient, "samp.client.receiveCall", vec![message])?;
            return Ok(ok_response());
        }
        let id = self.new_message_id(sender);
        let (answer, response) = oneshot::channel();
        self.lock().waiting.insert(id.clone(), Waiting::Wait { recipient: recipient.to_owned(), answer });
        let params = vec![SampValue::str(sender), SampValue::str(id.clone()), message];
        if let Err(error) = self.deliver_message(sender, recipient, "samp.client.receiveCall", params) {
            self.lock().waiting.remove(&id);
            return Err(error);
        }
        match tokio::time::timeout(limit, response).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(fault(format!("client {recipient} went away without replying"))),
            Err(_) => {
                self.lock().waiting.remove(&id);
                Err(fault(format!("no reply from {recipient} within {} s", limit.as_secs_f64())))
            }
        }
    }

    fn reply(self: &Arc<Hub>, replier: &str, message_id: &str, response: SampValue) -> Result<(), Fault> {
        let waiting = {
            let mut state = self.lock();
            let recipient = match state.waiting.get(message_id) {
                Some(Waiting::Call { recipient, .. } | Waiting::Wait { recipient, .. }) => recipient.clone(),
                None => return Err(fault(format!("no call {message_id} is waiting for a reply"))),
            };
            if recipient != replier {
                return Err(fault(format!("call {message_id} was not made to {replier}")));
            }
            state.waiting.remove(message_id)
        };
        match waiting {
            Some(Waiting::Call { sender, tag, .. }) => self.deliver(
                &sender,
                "samp.client.receiveResponse",
                vec![SampValue::str(replier), SampValue::String(tag), response],
            ),
            Some(Waiting::Wait { answer, .. }) => {
                let _ = answer.send(response);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Answers a call `recipient` never received with a samp.error response, as if it had
    /// replied so.
    fn fail_call(self: &Arc<Hub>, recipient: &str, message_id: &str, reason: &str) {
        let response = map([
            ("samp.status", SampValue::str("samp.error")),
            ("samp.error", map([("samp.errortxt", SampValue::str(reason))])),
        ]);
        if let Err((_, error)) = self.reply(recipient, message_id, response) {
            tracing::debug!("SAMP: {error}");
        }
    }

    /// A hub event about client `about`, sent to every subscriber but that client.
    fn client_event(self: &Arc<Hub>, (mtype, about, value): &(&'static str, String, SampValue)) {
        let key = if *mtype == "samp.hub.event.metadata" { "samp.metadata" } else { "samp.subscriptions" };
        let params: Map = [("samp.id".to_owned(), SampValue::str(about.clone())), (key.to_owned(), value.clone())]
            .into_iter()
            .collect();
        self.broadcast_event(mtype, params, Some(about));
    }

    /// Notifies every client subscribed to `mtype` (but `except`) from the hub; a full
    /// queue misses the event, which only matters for a client that is not reading.
    fn broadcast_event(&self, mtype: &'static str, params: Map, except: Option<&str>) {
        let message = map([("samp.mtype", SampValue::str(mtype)), ("samp.params", SampValue::Map(params))]);
        for recipient in self.subscribers(HUB_ID, mtype) {
            if Some(recipient.as_str()) == except {
                continue;
            }
            let _ = self.deliver(
                &recipient,
                "samp.client.receiveNotification",
                vec![SampValue::str(HUB_ID), message.clone()],
            );
        }
    }
}

/// What waits in a mailbox, waiting up to `limit` for something when it is empty.
async fn pull(mailbox: &Mailbox, limit: Duration) -> Vec<SampValue> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let arrived = mailbox.arrived.notified();
        let taken: Vec<SampValue> = mailbox.waiting.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
        if !taken.is_empty() || tokio::time::Instant::now() >= deadline {
            return taken;
        }
        if tokio::time::timeout_at(deadline, arrived).await.is_err() {
            return mailbox.waiting.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
        }
    }
}

/// A client's annotation for an MType it is subscribed to, by exact name or wildcard
/// (`*`, `samp.*`, `samp.hub.event.*`).
fn subscription(client: &Client, mtype: &str) -> Option<SampValue> {
    client.subscriptions.iter().find(|(pattern, _)| mtype_matches(pattern, mtype)).map(|(_, note)| note.clone())
}

pub fn mtype_matches(pattern: &str, mtype: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_suffix(".*") {
        Some(prefix) => mtype.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')),
        None => pattern == mtype,
    }
}

fn checked_message(message: Option<&SampValue>) -> Result<SampValue, Fault> {
    let message = message.ok_or_else(|| fault("no message"))?;
    let mtype = message
        .get("samp.mtype")
        .and_then(SampValue::as_str)
        .ok_or_else(|| fault("a message needs a samp.mtype string"))?;
    if mtype.is_empty() || mtype.contains('*') {
        return Err(fault(format!("{mtype:?} is not an MType")));
    }
    if message.get("samp.params").is_some_and(|params| params.as_map().is_none()) {
        return Err(fault("samp.params must be a map"));
    }
    Ok(message.clone())
}

fn mtype_of(message: &SampValue) -> String {
    message.get("samp.mtype").and_then(SampValue::as_str).unwrap_or_default().to_owned()
}

fn ok_response() -> SampValue {
    map([("samp.status", SampValue::str("samp.ok")), ("samp.result", SampValue::Map(Map::new()))])
}

/// Refuses to start over a live hub; removes a dead hub's lockfile.
async fn claim_lockfile(path: &std::path::Path, http: &reqwest::Client) -> Result<(), SampError> {
    if !path.exists() {
        return Ok(());
    }
    let url = lockfile::read(path).ok().and_then(|keys| keys.get("samp.hub.xmlrpc.url").cloned());
    if let Some(url) = url {
        let ping = tokio::time::timeout(Duration::from_secs(3), xmlrpc::call(http, &url, "samp.hub.ping", &[])).await;
        if matches!(ping, Ok(Ok(_))) {
            return Err(SampError::HubRunning(format!("{} ({url})", path.display())));
        }
    }
    tracing::info!("replacing the lockfile of a hub that no longer answers: {}", path.display());
    std::fs::remove_file(path).map_err(|e| SampError::Lockfile(format!("cannot remove {}: {e}", path.display())))
}

async fn handle(
    axum::extract::State(hub): axum::extract::State<Arc<Hub>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    answer(&hub, &body, None).await
}

/// The Web Profile's XML-RPC: pages on any origin may call (CORS), and the consent decides
/// whether they may register.
async fn handle_web(
    axum::extract::State(hub): axum::extract::State<Arc<Hub>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let origin = headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_owned);
    let mut response = answer(&hub, &body, Some(origin.clone())).await;
    allow_origin(response.headers_mut(), origin.as_deref());
    response
}

/// CORS preflight for the Web Profile.
async fn preflight(headers: axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let origin = headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()).map(str::to_owned);
    let mut response = axum::http::StatusCode::NO_CONTENT.into_response();
    allow_origin(response.headers_mut(), origin.as_deref());
    response
}

fn allow_origin(headers: &mut axum::http::HeaderMap, origin: Option<&str>) {
    use axum::http::{HeaderValue, header};
    let origin = origin.and_then(|o| HeaderValue::from_str(o).ok()).unwrap_or(HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, GET, OPTIONS"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Content-Type"));
}

/// The cross-domain policies Flash and Silverlight clients read before calling (SAMP 1.3
/// §5.4.2): calls from anywhere, as with CORS; registration still needs consent.
const CROSSDOMAIN: &str = "<?xml version=\"1.0\"?>\n\
<!DOCTYPE cross-domain-policy SYSTEM \"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd\">\n\
<cross-domain-policy>\n  <site-control permitted-cross-domain-policies=\"all\"/>\n  \
<allow-access-from domain=\"*\"/>\n  <allow-http-request-headers-from domain=\"*\" headers=\"*\"/>\n\
</cross-domain-policy>\n";
const CLIENTACCESSPOLICY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<access-policy>\n  \
<cross-domain-access>\n    <policy>\n      <allow-from http-request-headers=\"*\"><domain uri=\"*\"/></allow-from>\n      \
<grant-to><resource path=\"/\" include-subpaths=\"true\"/></grant-to>\n    </policy>\n  </cross-domain-access>\n\
</access-policy>\n";

impl Hub {
    /// Serves the Web Profile on `listener` (SAMP's port is 21012) until [`Hub::shutdown`].
    /// Pages register only when the consent set by [`Hub::set_web_consent`] allows them.
    pub async fn serve_web(self: &Arc<Hub>, listener: tokio::net::TcpListener) -> Result<(), SampError> {
        let xml = |text: &'static str| move || async move { ([(axum::http::header::CONTENT_TYPE, "text/xml")], text) };
        let router = axum::Router::new()
            .route("/", axum::routing::post(handle_web).options(preflight))
            .route("/crossdomain.xml", axum::routing::get(xml(CROSSDOMAIN)))
            .route("/clientaccesspolicy.xml", axum::routing::get(xml(CLIENTACCESSPOLICY)))
            .layer(axum::extract::DefaultBodyLimit::max(xmlrpc::LARGEST_REQUEST))
            .with_state(Arc::clone(self));
        self.serve_until_closed(listener, router).await
    }
}

/// One XML-RPC request of either profile (`web` holds the page's origin, if any).
async fn answer(hub: &Arc<Hub>, body: &[u8], web: Option<Option<String>>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let xml =
        match std::str::from_utf8(body).map_err(|_| "the request is not UTF-8".to_owned()).and_then(xmlrpc::parse_call)
        {
            Ok((method, params)) => match hub.dispatch(&method, params, web).await {
                Ok(value) => xmlrpc::response(&value),
                Err((code, message)) => xmlrpc::fault(code, &message),
            },
            Err(message) => xmlrpc::fault(2, &format!("not an XML-RPC call: {message}")),
        };
    ([(axum::http::header::CONTENT_TYPE, "text/xml")], xml).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtype_wildcards_match_as_the_standard_says() {
        assert!(mtype_matches("*", "table.load.votable"));
        assert!(mtype_matches("table.*", "table.load.votable"));
        assert!(mtype_matches("table.load.*", "table.load.votable"));
        assert!(!mtype_matches("table.load.*", "table.load"));
        assert!(!mtype_matches("tab.*", "table.load.votable"));
        assert!(mtype_matches("samp.app.ping", "samp.app.ping"));
        assert!(!mtype_matches("samp.app.ping", "samp.app.pingx"));
    }
}

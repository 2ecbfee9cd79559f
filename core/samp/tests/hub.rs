#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The hub over real HTTP: pyvo.samp clients (the Python SAMP clients astronomers script
//! with) against it, and raw XML-RPC clients for floods, dead clients and shutdown.

use skyglass_samp::{Hub, lockfile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Running {
    hub: Arc<Hub>,
    runtime: tokio::runtime::Runtime,
    lockfile: PathBuf,
    dir: PathBuf,
}

/// A hub on a free loopback port with its lockfile in a fresh folder.
fn start(name: &str) -> Running {
    let dir = std::env::temp_dir().join(format!("skyglass-samp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lockfile = dir.join(".samp");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let hub = Hub::new().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let serving = Arc::clone(&hub);
    let path = lockfile.clone();
    runtime.spawn(async move { serving.serve(listener, Some(path)).await });
    for _ in 0..200 {
        if lockfile.exists() {
            return Running { hub, runtime, lockfile, dir };
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the hub wrote no lockfile");
}

fn lockurl(path: &Path) -> String {
    format!("std-lockurl:file://{}", path.display())
}

#[test]
fn pyvo_clients_talk_through_the_hub() {
    let running = start("pyvo");
    let keys = lockfile::read(&running.lockfile).unwrap();
    assert_eq!(keys["samp.profile.version"], "1.3");
    assert!(keys["samp.hub.xmlrpc.url"].starts_with("http://127.0.0.1:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&running.lockfile).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the lockfile holds the secret: its owner's only");
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyvo_clients.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .env("SAMP_HUB", lockurl(&running.lockfile))
        .env("HOME", &running.dir)
        .output()
        .expect("python3 with pyvo");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}\n{}", String::from_utf8_lossy(&output.stderr));
    let expected = [
        "registered True True False",
        "metadata B http://127.0.0.1/a.png",
        "subscribed True True",
        "notify True test.note 83.63 22.01",
        "notifyAll True",
        "call True tag-7 samp.ok 42",
        "callAndWait samp.ok 100",
        "ping samp.ok",
        "timeout True True",
        "fault secret True",
        "fault key True",
        "fault client True",
        "fault mtype True",
        "garbage True",
        "events True True True",
        "unregister True",
        "done",
    ];
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines, expected, "{said}");
    // Only the hub is left.
    assert_eq!(running.hub.client_ids(), ["hub"]);
    running.runtime.block_on(running.hub.shutdown());
    assert!(!running.lockfile.exists(), "shutdown removes the lockfile");
    let _ = std::fs::remove_dir_all(&running.dir);
}

/// A raw XML-RPC client of the hub: registered, with a callback server that counts what
/// it receives, by MType.
struct Peer {
    key: String,
    id: String,
    received: Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

async fn rpc(url: &str, method: &str, params: &[skyglass_samp::SampValue]) -> Result<skyglass_samp::SampValue, String> {
    // One client (and connection pool) per runtime: a pool's connections live on the
    // runtime that opened them, and each test has its own.
    type Clients = std::sync::Mutex<std::collections::HashMap<tokio::runtime::Id, reqwest::Client>>;
    static HTTP: std::sync::OnceLock<Clients> = std::sync::OnceLock::new();
    let http = HTTP
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(tokio::runtime::Handle::current().id())
        .or_default()
        .clone();
    skyglass_samp::xmlrpc::call(&http, url, method, params).await.map_err(|e| format!("{e:?}"))
}

fn s(text: &str) -> skyglass_samp::SampValue {
    skyglass_samp::SampValue::str(text)
}

fn message(mtype: &str, n: usize) -> skyglass_samp::SampValue {
    skyglass_samp::value::map([
        ("samp.mtype", s(mtype)),
        ("samp.params", skyglass_samp::value::map([("n", s(&n.to_string()))])),
    ])
}

async fn peer(hub_url: &str, secret: &str, subscriptions: &[&str]) -> Peer {
    use skyglass_samp::SampValue;
    let registered = rpc(hub_url, "samp.hub.register", &[s(secret)]).await.unwrap();
    let key = registered.get("samp.private-key").and_then(SampValue::as_str).unwrap().to_owned();
    let id = registered.get("samp.self-id").and_then(SampValue::as_str).unwrap().to_owned();
    let received: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
    let record = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: String| {
            let record = Arc::clone(&record);
            async move {
                let (method, params) = skyglass_samp::xmlrpc::parse_call(&body).unwrap();
                let message = params.last().cloned().unwrap();
                let mtype = message.get("samp.mtype").and_then(SampValue::as_str).unwrap_or("").to_owned();
                let n = message
                    .get("samp.params")
                    .and_then(|p| p.get("n"))
                    .and_then(SampValue::as_str)
                    .unwrap_or("")
                    .to_owned();
                record.lock().unwrap().push((format!("{method} {mtype}"), n));
                skyglass_samp::xmlrpc::response(&s(""))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    rpc(hub_url, "samp.hub.setXmlrpcCallback", &[s(&key), s(&callback)]).await.unwrap();
    let subscriptions = skyglass_samp::SampValue::Map(
        subscriptions.iter().map(|m| ((*m).to_owned(), SampValue::Map(Default::default()))).collect(),
    );
    rpc(hub_url, "samp.hub.declareSubscriptions", &[s(&key), subscriptions]).await.unwrap();
    Peer { key, id, received }
}

/// 10,000 notifications fired at one client as fast as eight senders can: each one the hub
/// accepts arrives, in order per sender; none is dropped.
#[test]
fn a_flood_of_notifications_loses_nothing() {
    let running = start("flood");
    let url = running.hub.url();
    let secret = running.hub.secret().to_owned();
    running.runtime.block_on(async {
        let sender = peer(&url, &secret, &[]).await;
        let receiver = peer(&url, &secret, &["test.flood"]).await;
        let mut tasks = Vec::new();
        for lane in 0..8 {
            let (url, key, to) = (url.clone(), sender.key.clone(), receiver.id.clone());
            tasks.push(tokio::spawn(async move {
                let mut accepted = 0;
                for i in 0..1250 {
                    if rpc(&url, "samp.hub.notify", &[s(&key), s(&to), message("test.flood", lane * 10_000 + i)])
                        .await
                        .is_ok()
                    {
                        accepted += 1;
                    }
                }
                accepted
            }));
        }
        let mut accepted = 0;
        for task in tasks {
            accepted += task.await.unwrap();
        }
        assert_eq!(accepted, 10_000, "the queue holds 10,000: nothing refused");
        for _ in 0..600 {
            if receiver.received.lock().unwrap().len() >= accepted {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let got = receiver.received.lock().unwrap().clone();
        assert_eq!(got.len(), accepted);
        for lane in 0..8 {
            let order: Vec<usize> =
                got.iter().map(|(_, n)| n.parse::<usize>().unwrap()).filter(|n| n / 10_000 == lane).collect();
            assert!(order.windows(2).all(|w| w[0] < w[1]), "lane {lane} out of order");
        }
    });
    running.runtime.block_on(running.hub.shutdown());
    let _ = std::fs::remove_dir_all(&running.dir);
}

/// A client whose callback is gone is unregistered on its first failed delivery, and the
/// others hear of it; a huge message is refused; a second hub leaves a live hub's lockfile
/// alone, and replaces a dead one's; shutdown tells every client.
#[test]
fn dead_clients_huge_messages_rival_hubs_and_shutdown() {
    let running = start("lifecycle");
    let url = running.hub.url();
    let secret = running.hub.secret().to_owned();
    running.runtime.block_on(async {
        let watcher = peer(&url, &secret, &["samp.hub.event.*"]).await;
        // A client that gives a callback nothing listens on.
        let registered = rpc(&url, "samp.hub.register", &[s(&secret)]).await.unwrap();
        let key = registered.get("samp.private-key").and_then(|v| v.as_str()).unwrap().to_owned();
        let dead = registered.get("samp.self-id").and_then(|v| v.as_str()).unwrap().to_owned();
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gone = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        rpc(&url, "samp.hub.setXmlrpcCallback", &[s(&key), s(&gone)]).await.unwrap();
        let subscriptions =
            skyglass_samp::value::map([("test.any", skyglass_samp::SampValue::Map(Default::default()))]);
        rpc(&url, "samp.hub.declareSubscriptions", &[s(&key), subscriptions]).await.unwrap();
        rpc(&url, "samp.hub.notify", &[s(&watcher.key), s(&dead), message("test.any", 1)]).await.unwrap();
        for _ in 0..100 {
            if !running.hub.client_ids().contains(&dead) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(!running.hub.client_ids().contains(&dead), "the dead client is unregistered");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let events: Vec<String> = watcher.received.lock().unwrap().iter().map(|(m, _)| m.clone()).collect();
        assert!(events.iter().any(|m| m.ends_with("samp.hub.event.unregister")), "{events:?}");

        // A message over the request limit: refused by the hub's HTTP layer, the hub goes on.
        let huge = skyglass_samp::value::map([
            ("samp.mtype", s("test.any")),
            ("samp.params", skyglass_samp::value::map([("blob", s(&"x".repeat(9 << 20)))])),
        ]);
        assert!(rpc(&url, "samp.hub.notifyAll", &[s(&watcher.key), huge]).await.is_err());
        assert!(rpc(&url, "samp.hub.ping", &[]).await.is_ok());

        // A second hub: refused while this one answers.
        let rival = skyglass_samp::Hub::new().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let refused = rival.serve(listener, Some(running.lockfile.clone())).await;
        assert!(matches!(refused, Err(skyglass_samp::SampError::HubRunning(_))), "{refused:?}");
        assert_eq!(lockfile::read(&running.lockfile).unwrap()["samp.secret"], secret);

        // Shutdown: the watcher hears it, the lockfile goes.
        running.hub.shutdown().await;
        for _ in 0..50 {
            if watcher.received.lock().unwrap().iter().any(|(m, _)| m.ends_with("samp.hub.event.shutdown")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(watcher.received.lock().unwrap().iter().any(|(m, _)| m.ends_with("samp.hub.event.shutdown")));
        assert!(!running.lockfile.exists());
    });

    // A lockfile left by a hub that died: the next hub takes its place.
    std::fs::write(&running.lockfile, "samp.secret=old\nsamp.hub.xmlrpc.url=http://127.0.0.1:9/xmlrpc\n").unwrap();
    let next = skyglass_samp::Hub::new().unwrap();
    let serving = Arc::clone(&next);
    let path = running.lockfile.clone();
    running.runtime.spawn(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        serving.serve(listener, Some(path)).await
    });
    for _ in 0..200 {
        if lockfile::read(&running.lockfile).is_ok_and(|keys| keys["samp.secret"] == next.secret()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(lockfile::read(&running.lockfile).unwrap()["samp.secret"], next.secret());
    running.runtime.block_on(next.shutdown());
    let _ = std::fs::remove_dir_all(&running.dir);
}

/// Our client in conversation through a hub: metadata, a notification, a call answered
/// with callAndWait, and (`ping_hub`) the hub's own samp.app.ping.
async fn converse(lockfile: &Path, ping_hub: bool) {
    use skyglass_samp::{Client, Received, SampValue, value::map};
    let named = |name: &str| -> skyglass_samp::Map { [("samp.name".to_owned(), s(name))].into_iter().collect() };
    let (a, _) = Client::register(lockfile, named("A"), &[]).await.unwrap();
    let (b, mut inbox) = Client::register(lockfile, named("B"), &["test.note", "test.double"]).await.unwrap();
    let metadata = a.hub("samp.hub.getMetadata", vec![s(&b.id)]).await.unwrap();
    assert_eq!(metadata.get("samp.name").and_then(SampValue::as_str), Some("B"));
    a.notify(&b.id, message("test.note", 7)).await.unwrap();
    match tokio::time::timeout(std::time::Duration::from_secs(10), inbox.recv()).await.unwrap().unwrap() {
        Received::Notification { sender, message } => {
            assert_eq!(sender, a.id);
            assert_eq!(message.get("samp.params").and_then(|p| p.get("n")).and_then(SampValue::as_str), Some("7"));
        }
        other => panic!("{other:?}"),
    }
    let b = Arc::new(b);
    let replier = Arc::clone(&b);
    tokio::spawn(async move {
        while let Some(received) = inbox.recv().await {
            if let Received::Call { message_id, message, .. } = received {
                let n: usize = message
                    .get("samp.params")
                    .and_then(|p| p.get("n"))
                    .and_then(SampValue::as_str)
                    .unwrap()
                    .parse()
                    .unwrap();
                let response =
                    map([("samp.status", s("samp.ok")), ("samp.result", map([("twice", s(&(2 * n).to_string()))]))]);
                replier.reply(&message_id, response).await.unwrap();
            }
        }
    });
    let answer = a.call_and_wait(&b.id, message("test.double", 21), 10).await.unwrap();
    assert_eq!(answer.get("samp.result").and_then(|r| r.get("twice")).and_then(SampValue::as_str), Some("42"));
    if ping_hub {
        let ping = skyglass_samp::value::map([("samp.mtype", s("samp.app.ping"))]);
        let pong = a.call_and_wait(&a.hub_id, ping, 10).await.unwrap();
        assert_eq!(pong.get("samp.status").and_then(SampValue::as_str), Some("samp.ok"));
    }
    a.unregister().await.unwrap();
    b.unregister().await.unwrap();
}

#[test]
fn our_client_talks_through_our_hub_and_pyvos() {
    let running = start("client");
    running.runtime.block_on(converse(&running.lockfile, true));
    running.runtime.block_on(running.hub.shutdown());
    // pyvo's hub (the astropy one), on a lockfile of its own; killed however the test ends.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let theirs = running.dir.join("pyvo.lock");
    let _hub = Killed(
        std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, time\nfrom pyvo.samp import SAMPHubServer\n\
                 h = SAMPHubServer(web_profile=False, lockfile=sys.argv[1], addr='127.0.0.1')\nh.start(wait=False)\n\
                 while True: time.sleep(1)\n",
                theirs.to_str().unwrap(),
            ])
            .env("HOME", &running.dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 with pyvo"),
    );
    for _ in 0..600 {
        if lockfile::read(&theirs).is_ok_and(|keys| keys.contains_key("samp.hub.xmlrpc.url")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // (pyvo's hub answers its own ping through a callback of its own, which now and then
    // times out under load: that is not ours to test.)
    running.runtime.block_on(converse(&theirs, false));
    let _ = std::fs::remove_dir_all(&running.dir);
}

/// A client whose callback faults on a call (as Aladin does when a handler throws) can never
/// reply: the caller gets a samp.error response at once instead of waiting out its timeout.
#[test]
fn a_call_the_recipient_cannot_take_is_answered_with_an_error() {
    use skyglass_samp::SampValue;
    let running = start("refused-call");
    let url = running.hub.url();
    let secret = running.hub.secret().to_owned();
    running.runtime.block_on(async {
        let caller = peer(&url, &secret, &[]).await;
        let registered = rpc(&url, "samp.hub.register", &[s(&secret)]).await.unwrap();
        let key = registered.get("samp.private-key").and_then(SampValue::as_str).unwrap().to_owned();
        let broken = registered.get("samp.self-id").and_then(SampValue::as_str).unwrap().to_owned();
        let app = axum::Router::new()
            .route("/", axum::routing::post(|| async { skyglass_samp::xmlrpc::fault(1, "NullPointerException") }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let callback = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        rpc(&url, "samp.hub.setXmlrpcCallback", &[s(&key), s(&callback)]).await.unwrap();
        let subscriptions = skyglass_samp::value::map([("test.call", SampValue::Map(Default::default()))]);
        rpc(&url, "samp.hub.declareSubscriptions", &[s(&key), subscriptions]).await.unwrap();
        let started = std::time::Instant::now();
        let answer = rpc(&url, "samp.hub.callAndWait", &[s(&caller.key), s(&broken), message("test.call", 1), s("30")])
            .await
            .unwrap();
        assert!(started.elapsed().as_secs() < 5, "answered at once, not at the timeout");
        assert_eq!(answer.get("samp.status").and_then(SampValue::as_str), Some("samp.error"));
        let text = answer.get("samp.error").and_then(|e| e.get("samp.errortxt")).and_then(SampValue::as_str).unwrap();
        assert!(text.contains("NullPointerException"), "{text}");
        // The client is still registered: a fault is an answer, not a disappearance.
        assert!(running.hub.client_ids().contains(&broken));
    });
    running.runtime.block_on(running.hub.shutdown());
    let _ = std::fs::remove_dir_all(&running.dir);
}

/// The Web Profile: a page registers only with consent, calls from any origin (CORS),
/// pulls its callbacks, and its key opens nothing on the Standard Profile's port.
#[test]
fn web_profile_pages_register_with_consent_and_pull_their_messages() {
    use skyglass_samp::SampValue;
    let running = start("web");
    let url = running.hub.url();
    let secret = running.hub.secret().to_owned();
    running.hub.set_web_consent(Arc::new(|asked: skyglass_samp::hub::WebRegistration| {
        Box::pin(async move { asked.name != "Refused page" && asked.origin.as_deref() == Some("http://example.org") })
    }));
    running.runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let web = format!("http://{}/", listener.local_addr().unwrap());
        let serving = Arc::clone(&running.hub);
        tokio::spawn(async move { serving.serve_web(listener).await });
        let http = reqwest::Client::new();
        // A page's call: XML-RPC with its Origin header; the answer carries CORS headers.
        let page = |method: &str, params: Vec<SampValue>| {
            let request = http
                .post(&web)
                .header("Origin", "http://example.org")
                .header("Content-Type", "text/plain")
                .body(skyglass_samp::xmlrpc::call_xml(method, &params));
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.headers()["access-control-allow-origin"], "http://example.org");
                skyglass_samp::xmlrpc::parse_response(&response.text().await.unwrap()).unwrap()
            }
        };
        let identity = |name: &str| skyglass_samp::value::map([("samp.name", s(name))]);
        assert!(page("samp.webhub.register", vec![identity("Refused page")]).await.is_err());
        let registered = page("samp.webhub.register", vec![identity("Sky page")]).await.unwrap();
        let key = registered.get("samp.private-key").and_then(SampValue::as_str).unwrap().to_owned();
        let id = registered.get("samp.self-id").and_then(SampValue::as_str).unwrap().to_owned();
        let subscriptions = skyglass_samp::value::map([("test.web", SampValue::Map(Default::default()))]);
        page("samp.webhub.declareSubscriptions", vec![s(&key), subscriptions]).await.unwrap();
        page("samp.webhub.allowReverseCallbacks", vec![s(&key), s("1")]).await.unwrap();
        // Nothing waiting: the long poll gives up after its timeout, empty.
        let started = std::time::Instant::now();
        let nothing = page("samp.webhub.pullCallbacks", vec![s(&key), s("1")]).await.unwrap();
        assert_eq!(nothing, SampValue::List(Vec::new()));
        assert!(started.elapsed() >= std::time::Duration::from_millis(900));
        // A desktop client notifies the page, which pulls it.
        let desktop = peer(&url, &secret, &[]).await;
        rpc(&url, "samp.hub.notify", &[s(&desktop.key), s(&id), message("test.web", 5)]).await.unwrap();
        let pulled = page("samp.webhub.pullCallbacks", vec![s(&key), s("5")]).await.unwrap();
        let SampValue::List(callbacks) = pulled else { panic!("{pulled:?}") };
        assert_eq!(callbacks.len(), 1);
        assert_eq!(callbacks[0].get("samp.methodName").and_then(SampValue::as_str), Some("receiveNotification"));
        let SampValue::List(params) = callbacks[0].get("samp.params").unwrap() else { panic!() };
        assert_eq!(params[0], s(&desktop.id));
        assert_eq!(params[1].get("samp.mtype").and_then(SampValue::as_str), Some("test.web"));
        // The page's key on the Standard Profile's port: refused.
        assert!(rpc(&url, "samp.hub.getRegisteredClients", &[s(&key)]).await.is_err());
        // CORS preflight and the cross-domain policy files.
        let preflight =
            http.request(reqwest::Method::OPTIONS, &web).header("Origin", "http://example.org").send().await.unwrap();
        assert_eq!(preflight.headers()["access-control-allow-origin"], "http://example.org");
        let policy = http.get(format!("{web}crossdomain.xml")).send().await.unwrap().text().await.unwrap();
        assert!(policy.contains("<allow-access-from domain=\"*\"/>"), "{policy}");
    });
    running.runtime.block_on(running.hub.shutdown());
    let _ = std::fs::remove_dir_all(&running.dir);
}

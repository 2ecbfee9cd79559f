#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! HiPS over HTTP from a real static file server (Python's http.server on loopback, serving
//! the shared HiPS samples), with the disk cache making a survey seen once usable offline.

use skyglass_hips::{FetchOptions, HipsSurvey, OpenError, TileError, TileFormat, decode};
use skyglass_test_support::shared_data;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
            .arg(shared_data().join("hips"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "http.server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port }
    }

    fn url(&self, survey: &str) -> String {
        format!("http://127.0.0.1:{}/{survey}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn options(cache: &str) -> FetchOptions {
    let dir = std::env::temp_dir().join(format!("skyglass-http-{cache}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    FetchOptions {
        disk_cache: Some(dir),
        retries: 2,
        backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
        ..FetchOptions::default()
    }
}

fn local_tile(relative: &str, format: TileFormat) -> skyglass_hips::TileImage {
    decode(&std::fs::read(shared_data().join("hips").join(relative)).unwrap(), format).unwrap()
}

#[test]
fn tiles_over_http_equal_the_files_and_stay_readable_offline() {
    let options = options("offline");
    let server = Server::start();
    let url = server.url("DSS2Red");
    let survey = HipsSurvey::open_with(&url, &options).unwrap();
    assert_eq!(survey.properties().title, "DSS2 Red (F+R)");
    let tile = survey.read_tile(3, 448, TileFormat::Fits).unwrap().unwrap();
    assert_eq!(tile, local_tile("DSS2Red/Norder3/Dir0/Npix448.fits", TileFormat::Fits));
    let jpeg = survey.read_tile(3, 448, TileFormat::Jpeg).unwrap().unwrap();
    assert_eq!(jpeg, local_tile("DSS2Red/Norder3/Dir0/Npix448.jpg", TileFormat::Jpeg));
    // A tile the server does not have is absent, not an error.
    assert!(survey.read_tile(3, 0, TileFormat::Jpeg).unwrap().is_none());
    let (order, allsky) = survey.read_allsky(TileFormat::Jpeg).unwrap().unwrap();
    assert_eq!((order, allsky.len()), (3, 768));
    drop(survey);

    // The server goes away: what was fetched is still there, from the disk cache.
    drop(server);
    let offline = HipsSurvey::open_with(&url, &options).unwrap();
    assert_eq!(offline.read_tile(3, 448, TileFormat::Jpeg).unwrap().unwrap(), jpeg);
    assert!(offline.read_allsky(TileFormat::Jpeg).unwrap().is_some());
    // What never was fetched fails with a reason, after its retries.
    let error = offline.read_tile(3, 449, TileFormat::Jpeg).unwrap_err();
    assert!(matches!(error, TileError::Network { .. }), "{error}");
    assert!(error.to_string().to_lowercase().contains("connect"), "{error}");
    std::fs::remove_dir_all(options.disk_cache.unwrap()).unwrap();
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let options = options("unreachable");
    let url = format!("http://127.0.0.1:{}/DSS2Red", free_port());
    let started = Instant::now();
    let error = HipsSurvey::open_with(&url, &options).unwrap_err();
    assert!(matches!(error, OpenError::Network { .. }), "{error}");
    assert!(error.to_string().starts_with(&format!("cannot reach {url}")), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10), "gave up only after {:?}", started.elapsed());
}

#[test]
fn a_failing_server_is_retried_then_reported() {
    // A server that answers every request with 503 Service Unavailable.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            let _ =
                stream.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let options = options("failing");
    let error = HipsSurvey::open_with(&format!("http://127.0.0.1:{port}/X"), &options).unwrap_err();
    assert!(error.to_string().contains("503"), "{error}");
    // The first try and two retries.
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

#[test]
fn cache_folders_are_named_after_the_survey_url() {
    let options = options("naming");
    let server = Server::start();
    let survey = HipsSurvey::open_with(&server.url("FermiColor"), &options).unwrap();
    assert!(survey.read_tile(3, 448, TileFormat::Jpeg).unwrap().is_some());
    let root: PathBuf = options.disk_cache.clone().unwrap();
    let cached = root.join(format!("127.0.0.1_{}/FermiColor/Norder3/Dir0/Npix448.jpg", server.port));
    assert!(cached.is_file(), "{} missing", cached.display());
    std::fs::remove_dir_all(root).unwrap();
}

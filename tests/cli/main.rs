//! End-to-end tests of the `skyglass` binary as a user runs it, a module per command; the
//! helpers they share (running the binary, a `skyglass serve` on a free port, accounts,
//! certificates) are here.

// Test helpers may panic: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod app;
mod convert;
mod coords;
mod hub;
mod query;
mod render;
mod serve;
mod users;
mod xmatch;

use std::process::{Command, Output};

fn skyglass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skyglass")).args(args).output().expect("the skyglass binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `skyglass serve` on a free loopback port, stopped when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &std::path::Path) -> Server {
    serve_with(data, &[], "http")
}

/// `skyglass serve` on a free port with more arguments; its TAP URL has `scheme`.
fn serve_with(data: &std::path::Path, extra: &[&std::ffi::OsStr], scheme: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .args(["serve", "--data", data.to_str().unwrap(), "--addr", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed().as_secs() < 120, "skyglass serve did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Server { child, url: format!("{scheme}://127.0.0.1:{port}/tap") }
}

/// A certificate authority of the test's own and a server certificate it signs, for
/// localhost and 127.0.0.1, made with openssl in `dir`: (certificate, key, authority).
fn test_certificate(data: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let (certificate, key, authority) = (data.join("cert.pem"), data.join("key.pem"), data.join("ca.pem"));
    let openssl = |args: &[&str]| {
        let made = Command::new("openssl")
            .args(args)
            .current_dir(data)
            .output()
            .expect("openssl (scripts/test.sh installs it)");
        assert!(made.status.success(), "openssl {args:?}: {}", stderr(&made));
    };
    std::fs::write(
        data.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Skyglass test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "server.ext",
        "-out",
        "cert.pem",
    ]);
    (certificate, key, authority)
}

/// A table sent to TAP+'s Upload of the server at `root` (no `/tap`), as alice with her
/// password when `as_alice`, else anonymously.
fn upload_table(
    client: &reqwest::blocking::Client,
    root: &str,
    name: &str,
    bytes: Vec<u8>,
    as_alice: bool,
) -> reqwest::Result<reqwest::blocking::Response> {
    let form = reqwest::blocking::multipart::Form::new()
        .text("TABLE_NAME", name.to_owned())
        .part("FILE", reqwest::blocking::multipart::Part::bytes(bytes).file_name("table"));
    let request = client.post(format!("{}/tap-server/Upload", root.trim_end_matches("/tap"))).multipart(form);
    let request = if as_alice { request.basic_auth("alice", Some("alice password")) } else { request };
    request.send()
}

/// `skyglass user` with the password on standard input.
fn user(data: &std::path::Path, args: &[&str], password: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_skyglass"));
    command.arg("user").args(args).args(["--data", data.to_str().unwrap(), "--password-stdin"]);
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(password) = password {
        child.stdin.as_mut().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

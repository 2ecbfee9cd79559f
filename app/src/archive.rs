//! `skyglass serve` and `skyglass ingest`: the archive server headless, and tables into it.

use anyhow::{Context, Result, bail};
use clap::Args;
use skyglass_archive::{Archive, IngestOptions, Mode, TableName};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The archive's data directory (default: the platform's data folder).
    #[arg(long)]
    data: Option<PathBuf>,

    /// Where to listen. Loopback by default: say 0.0.0.0:8080 to serve other machines.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,

    /// Serve HTTPS with this certificate (PEM; the chain, server first). Logins need it:
    /// ESA's TAP+ clients log in over HTTPS only.
    #[arg(long, requires = "tls_key", value_name = "FILE")]
    tls_cert: Option<PathBuf>,

    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert", value_name = "FILE")]
    tls_key: Option<PathBuf>,

    /// Serve logged-in users only (see `skyglass user`): anonymous callers get nothing but
    /// the login, availability and capabilities.
    #[arg(long)]
    login_only: bool,

    /// The largest table a user may upload into their schema in one request (e.g. `256MiB`;
    /// default 1GiB, their whole quota).
    #[arg(long, value_name = "SIZE")]
    max_upload: Option<String>,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Tables to ingest (VOTable, CSV, TSV, FITS, Parquet, ECSV; .gz too), one after the other.
    #[arg(required_unless_present = "drop")]
    files: Vec<String>,

    /// The table to make: SCHEMA.NAME.
    #[arg(long)]
    table: String,

    /// Position columns (default: found by UCD, then by name).
    #[arg(long, requires = "dec")]
    ra: Option<String>,
    #[arg(long, requires = "ra")]
    dec: Option<String>,

    /// The time column (MJD, JD or timestamps): tables without positions are sorted by it.
    #[arg(long)]
    time: Option<String>,

    #[arg(long)]
    description: Option<String>,

    /// Replace the table if it exists.
    #[arg(long, conflicts_with = "append")]
    replace: bool,

    /// Add the rows to the table if it exists.
    #[arg(long)]
    append: bool,

    /// Drop the table instead of ingesting (no files then).
    #[arg(long, conflicts_with_all = ["replace", "append"])]
    drop: bool,

    /// The archive's data directory (default: the platform's data folder).
    #[arg(long)]
    data: Option<PathBuf>,
}

pub(crate) fn data_dir(explicit: Option<&PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.clone());
    }
    directories::ProjectDirs::from("org", "Skyglass", "skyglass")
        .map(|dirs| dirs.data_dir().join("archive"))
        .context("no data folder on this platform: give --data DIR")
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

pub fn serve(args: &ServeArgs) -> Result<()> {
    let data = data_dir(args.data.as_ref())?;
    runtime()?.block_on(async {
        let archive =
            Archive::open(&data).await.with_context(|| format!("cannot open the archive in {}", data.display()))?;
        archive.ensure_samples().await.context("cannot load the sample catalogues")?;
        // A certificate that does not load stops the server before it listens.
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(certificate), Some(key)) => Some(skyglass_archive::http::tls::server_config(certificate, key)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let address = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("Skyglass archive: TAP service at {scheme}://{address}/tap (data in {})", data.display());
        let options = skyglass_archive::http::Options {
            login_only: args.login_only,
            // A server on loopback is its user's own: their local files and servers are
            // theirs to upload from. Reachable from elsewhere, it fetches from the internet only.
            private_fetches: args.addr.ip().is_loopback(),
            upload_limit: match &args.max_upload {
                Some(size) => crate::xmatch::parse_size(size)?,
                None => skyglass_archive::http::Options::default().upload_limit,
            },
        };
        let app =
            skyglass_archive::http::router_with(Arc::new(archive), options).context("cannot open the job store")?;
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match tls {
            Some(config) => axum::serve(
                skyglass_archive::http::tls::TlsListener::new(listener, config),
                skyglass_archive::http::tls::over_https(app),
            )
            .with_graceful_shutdown(stop)
            .await
            .context("the server stopped")?,
            None => axum::serve(listener, app).with_graceful_shutdown(stop).await.context("the server stopped")?,
        }
        Ok(())
    })
}

/// Starts the archive server for the desktop app, on a thread of its own and a free loopback
/// port, with the default data directory; the TAP URL (or why it did not start) arrives on
/// the channel, and `wake` is called then. The server runs until the app exits.
pub fn start_embedded(wake: impl Fn() + Send + 'static) -> std::sync::mpsc::Receiver<Result<String, String>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("archive".into()).spawn(move || {
        let outcome = (|| -> Result<()> {
            let data = data_dir(None)?;
            runtime()?.block_on(async {
                let archive = Archive::open(&data).await?;
                archive.ensure_samples().await?;
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let url = format!("http://{}/tap", listener.local_addr()?);
                // The app's own server, on loopback: the user's local servers are theirs.
                let options = skyglass_archive::http::Options { private_fetches: true, ..Default::default() };
                let app = skyglass_archive::http::router_with(Arc::new(archive), options)?;
                let _ = sender.send(Ok(url));
                wake();
                axum::serve(listener, app).await?;
                Ok(())
            })
        })();
        if let Err(error) = outcome {
            tracing::warn!("embedded archive: {error:#}");
            let _ = sender.send(Err(format!("{error:#}")));
            wake();
        }
    });
    if let Err(error) = spawned {
        tracing::warn!("embedded archive: {error}");
    }
    receiver
}

pub fn ingest(args: &IngestArgs) -> Result<()> {
    let data = data_dir(args.data.as_ref())?;
    let table = TableName::parse(&args.table)?;
    runtime()?.block_on(async {
        let archive =
            Archive::open(&data).await.with_context(|| format!("cannot open the archive in {}", data.display()))?;
        if args.drop {
            archive.drop_table(&table).await?;
            println!("dropped {}", table.qualified());
            return Ok(());
        }
        let mut mode = if args.replace {
            Mode::Replace
        } else if args.append {
            Mode::Append
        } else {
            Mode::Create
        };
        for file in &args.files {
            let format = crate::convert::resolve_format(None, file, "input")?;
            let started = std::time::Instant::now();
            let bytes = crate::convert::read_input(file)?;
            // On a terminal: a bar while the file is parsed, then a spinner for the rest.
            let progress = indicatif::ProgressBar::with_draw_target(
                Some(bytes.len() as u64),
                indicatif::ProgressDrawTarget::stderr(),
            );
            progress.set_style(
                indicatif::ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            progress.set_message(format!("reading {file}"));
            let data = skyglass_votable::read_table(progress.wrap_read(std::io::Cursor::new(bytes)), format)
                .with_context(|| format!("cannot read {file}"))?;
            let rows_read = data.batches.iter().map(|b| b.num_rows()).sum::<usize>();
            progress.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            progress.set_message(format!("indexing, sorting and writing {rows_read} rows"));
            progress.enable_steady_tick(std::time::Duration::from_millis(120));
            let options = IngestOptions {
                ra: args.ra.clone(),
                dec: args.dec.clone(),
                time: args.time.clone(),
                description: args.description.clone(),
                mode,
            };
            let report = archive.ingest(&data, &table, &options).await;
            progress.finish_and_clear();
            let report = report.with_context(|| format!("cannot ingest {file}"))?;
            let seconds = started.elapsed().as_secs_f64();
            let position =
                report.position.map(|(ra, dec)| format!(", HEALPix-indexed on ({ra}, {dec})")).unwrap_or_default();
            let time = report.time.map(|time| format!(", time column {time}")).unwrap_or_default();
            println!(
                "{}: {} rows now ({:.0} rows/s){position}{time}",
                table.qualified(),
                report.rows,
                rows_read as f64 / seconds.max(1e-9)
            );
            // Later files of the same command add to the first.
            mode = Mode::Append;
        }
        if args.files.is_empty() {
            bail!("no file to ingest");
        }
        Ok(())
    })
}

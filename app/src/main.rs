//! The `skyglass` binary: command-line entry point. Each subcommand is a thin layer over the
//! core crates; the desktop app will live here too (see ARCHITECTURE.md).

mod archive;
mod convert;
mod coords;
mod gui;
mod hub;
mod names;
mod query;
mod render;
mod users;
mod xmatch;

use anyhow::Result;
use clap::{ArgAction, Parser, Subcommand};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Skyglass: a fast, offline-first sky and data explorer for astronomers.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "skyglass", version, about, long_about = None)]
struct Cli {
    /// More logging: -v for debug, -vv for trace. RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,

    /// Less logging: errors only.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// The desktop app in SAMP: run a hub when none answers (hub), only join one (join), or
    /// stay out (off).
    #[arg(long, value_name = "MODE", default_value = "hub", value_parser = ["hub", "join", "off"])]
    samp: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Convert a position between frames (ICRS, FK5, Galactic, Ecliptic, Supergalactic).
    Coords(coords::CoordsArgs),
    /// Convert a table between formats (VOTable TABLEDATA or BINARY2, CSV, TSV, Parquet, FITS).
    Convert(convert::ConvertArgs),
    /// Draw HiPS surveys to an image file, without a window (like hips2fits).
    Render(render::RenderArgs),
    /// Serve the archive over TAP (ADQL), headless.
    Serve(archive::ServeArgs),
    /// Put tables into the archive (or replace, append to, drop them).
    Ingest(archive::IngestArgs),
    /// Crossmatch two tables by position (like STILTS tmatch2 matcher=sky).
    Xmatch(xmatch::XmatchArgs),
    /// Run a SAMP hub, headless (Aladin, TOPCAT and scripts talk through it).
    Hub(hub::HubArgs),
    /// Query a TAP service in ADQL (like STILTS tapquery): sync or async, with uploads.
    Query(query::QueryArgs),
    /// The archive's user accounts: add, remove, passwd, list.
    User(users::UserArgs),
}

fn main() -> ExitCode {
    quiet_device_selection();
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Mesa's Vulkan device-select layer asks a Wayland session for the default GPU, and on a
/// machine without one (a server, CI, a terminal over ssh) libwayland prints "error:
/// XDG_RUNTIME_DIR is invalid" twice per GPU context though nothing is wrong. Where there is
/// no session to ask, the layer stands aside; wgpu chooses the adapter itself.
#[allow(unsafe_code)]
fn quiet_device_selection() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() && std::env::var_os("NODEVICE_SELECT").is_none() {
        // SAFETY: called first thing in main, before any thread exists that could read or
        // write the environment at the same time.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Coords(args)) => coords::run(&args),
        Some(Command::Convert(args)) => convert::run(&args),
        Some(Command::Render(args)) => render::run(&args),
        Some(Command::Serve(args)) => archive::serve(&args),
        Some(Command::Ingest(args)) => archive::ingest(&args),
        Some(Command::Xmatch(args)) => xmatch::run(&args),
        Some(Command::Hub(args)) => hub::run(&args),
        Some(Command::Query(args)) => query::run(&args),
        Some(Command::User(args)) => users::run(&args),
        None => gui::run(match cli.samp.as_str() {
            "join" => Some(gui::samp::SampMode::Join),
            "off" => None,
            _ => Some(gui::samp::SampMode::Hub),
        }),
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let default_level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // -v and -vv speak for Skyglass's own crates; the GPU stack stays at warnings.
    let directives = if default_level == "error" || default_level == "warn" {
        default_level.to_owned()
    } else {
        format!(
            "warn,skyglass={default_level},skyglass_archive={default_level},skyglass_adql={default_level},skyglass_hips={default_level},skyglass_render={default_level},skyglass_sky={default_level},skyglass_votable={default_level}"
        )
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(directives));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

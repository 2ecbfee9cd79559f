//! `skyglass hub`: a SAMP hub (Standard Profile), headless, until interrupted.

use anyhow::{Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct HubArgs {
    /// The lockfile to write (default: the file SAMP_HUB names, else ~/.samp).
    #[arg(long)]
    lockfile: Option<PathBuf>,

    /// Where to listen for XML-RPC (loopback, any free port by default).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
}

pub fn run(args: &HubArgs) -> Result<()> {
    let lockfile = match &args.lockfile {
        Some(path) => path.clone(),
        None => skyglass_samp::lockfile::default_path()?,
    };
    crate::archive::runtime()?.block_on(async {
        let hub = skyglass_samp::Hub::new()?;
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let address = listener.local_addr()?;
        let serving = std::sync::Arc::clone(&hub);
        let path = lockfile.clone();
        let server = tokio::spawn(async move { serving.serve(listener, Some(path)).await });
        println!("Skyglass SAMP hub at http://{address}/xmlrpc (lockfile {})", lockfile.display());
        tokio::select! {
            outcome = server => return outcome.context("the hub stopped")?.map_err(anyhow::Error::from),
            () = stop_signal() => {}
        }
        hub.shutdown().await;
        Ok(())
    })
}

/// Ctrl-C, or SIGTERM where there is one (a service manager stopping the hub).
async fn stop_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

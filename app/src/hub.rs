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

    /// Also serve the Web Profile, for web pages (on --web-addr).
    #[arg(long)]
    web_profile: bool,

    /// Where the Web Profile listens (SAMP's port is 21012).
    #[arg(long, default_value = "127.0.0.1:21012")]
    web_addr: SocketAddr,

    /// Let every web page that asks register, without asking. Without it, a headless hub
    /// has nobody to ask for consent and refuses them all.
    #[arg(long, requires = "web_profile")]
    allow_web_clients: bool,
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
        let web = if args.web_profile {
            let listener = tokio::net::TcpListener::bind(args.web_addr)
                .await
                .with_context(|| format!("cannot listen on {} for the Web Profile", args.web_addr))?;
            let allow = args.allow_web_clients;
            hub.set_web_consent(std::sync::Arc::new(move |asked: skyglass_samp::hub::WebRegistration| {
                let origin = asked.origin.unwrap_or_else(|| "an unknown origin".to_owned());
                if allow {
                    println!("web client {:?} from {origin} registered", asked.name);
                } else {
                    println!("web client {:?} from {origin} refused: --allow-web-clients lets pages in", asked.name);
                }
                Box::pin(async move { allow })
            }));
            println!("Web Profile at http://{}/", listener.local_addr()?);
            let serving = std::sync::Arc::clone(&hub);
            Some(tokio::spawn(async move { serving.serve_web(listener).await }))
        } else {
            None
        };
        tokio::select! {
            outcome = server => return outcome.context("the hub stopped")?.map_err(anyhow::Error::from),
            () = stop_signal() => {}
        }
        hub.shutdown().await;
        if let Some(web) = web {
            let _ = web.await;
        }
        Ok(())
    })
}

/// Ctrl-C, or SIGTERM where there is one (a service manager stopping the hub).
pub(crate) async fn stop_signal() {
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

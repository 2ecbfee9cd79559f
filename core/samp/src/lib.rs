//! SAMP 1.3 (the IVOA Simple Application Messaging Protocol) for Skyglass: a hub speaking
//! the Standard Profile (lockfile, XML-RPC on loopback), so that Aladin, TOPCAT, Python
//! scripts and the app exchange tables, images and positions.

pub mod client;
pub mod hub;
pub mod lockfile;
pub mod value;
pub mod xmlrpc;

pub use client::{Client, Received};
pub use hub::Hub;
pub use value::{Map, SampValue};

#[derive(Debug, thiserror::Error)]
pub enum SampError {
    #[error("a SAMP hub is already running: {0}")]
    HubRunning(String),
    #[error("SAMP lockfile: {0}")]
    Lockfile(String),
    #[error("{0}")]
    Io(String),
}

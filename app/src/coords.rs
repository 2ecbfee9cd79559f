//! `skyglass coords`: a position as the user types it, shown in one frame or all of them.

use crate::names::resolve_position;
use anyhow::{Context, Result};
use clap::Args;
use skyglass_sky::{Frame, LonLat};

#[derive(Debug, Args)]
pub struct CoordsArgs {
    /// The position: decimal degrees ("10.6846 41.2692") or sexagesimal
    /// ("00:42:44.3 +41:16:09", "00h42m44.3s +41d16m09s"). Quote it.
    pub position: String,

    /// The frame the position is given in.
    #[arg(long, default_value = "icrs", value_parser = parse_frame)]
    pub from: Frame,

    /// Show only this frame (default: all five).
    #[arg(long, value_parser = parse_frame)]
    pub to: Option<Frame>,
}

fn parse_frame(text: &str) -> Result<Frame, String> {
    text.parse::<Frame>().map_err(|e| e.to_string())
}

pub fn run(args: &CoordsArgs) -> Result<()> {
    let (position, name) = resolve_position(&args.position, args.from)
        .with_context(|| format!("cannot read the position {:?}", args.position))?;
    if let Some(name) = name {
        println!("{name} (offline name index)");
    }
    tracing::debug!(?position, from = %args.from, "parsed position");
    let targets: Vec<Frame> = match args.to {
        Some(frame) => vec![frame],
        None => Frame::ALL.to_vec(),
    };
    for frame in targets {
        println!("{}", describe(frame, args.from.convert(frame, position)));
    }
    Ok(())
}

/// One line: frame, decimal degrees to 1 µas-ish precision, and sexagesimal.
fn describe(frame: Frame, position: LonLat) -> String {
    let (lon, lat) = (position.lon(), position.lat());
    let sexagesimal = if frame.is_equatorial() {
        format!("{} {}", lon.to_hms(3), lat.to_dms(2))
    } else {
        format!("{} {}", lon.to_dms(2).trim_start_matches('+'), lat.to_dms(2))
    };
    format!("{:<14}{:>14.9} {:>+13.9}   {sexagesimal}", frame.name(), lon.degrees(), lat.degrees())
}

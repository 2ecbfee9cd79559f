#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kernel against the tools astronomers check with: astropy's match_coordinates_sky
//! (best match) and STILTS tmatch2 (all pairs), on the Yale Bright Star Catalogue against
//! Hipparcos as bundled in assets/catalogs.

use arrow_array::Float64Array;
use skyglass_xmatch::{Mode, Positions, crossmatch};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

const RADIUS_ARCSEC: f64 = 60.0;

fn catalog(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../assets/catalogs/{name}.vot.gz"))
}

fn positions(name: &str) -> (Float64Array, Float64Array) {
    let mut xml = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(catalog(name)).unwrap()).read_to_end(&mut xml).unwrap();
    let table =
        skyglass_votable::read_table(std::io::Cursor::new(xml), skyglass_votable::TableFormat::VoTable).unwrap();
    let column = |column: &str| -> Float64Array {
        let index = table.schema.index_of(column).unwrap();
        table
            .batches
            .iter()
            .flat_map(|batch| {
                let array = batch.column(index).as_any().downcast_ref::<Float64Array>().unwrap().clone();
                array.iter().collect::<Vec<_>>()
            })
            .collect()
    };
    (column("ra"), column("dec"))
}

fn ours(mode: Mode) -> BTreeSet<(usize, usize)> {
    let (ra_a, dec_a) = positions("bsc5");
    let (ra_b, dec_b) = positions("hipparcos");
    let found = crossmatch(
        Positions { ra: &ra_a, dec: &dec_a },
        Positions { ra: &ra_b, dec: &dec_b },
        RADIUS_ARCSEC / 3600.0,
        mode,
    )
    .unwrap();
    found.a.iter().zip(&found.b).map(|(a, b)| (*a, b.unwrap())).collect()
}

fn pairs(printed: &[u8]) -> BTreeSet<(usize, usize)> {
    String::from_utf8_lossy(printed)
        .lines()
        .filter_map(|line| {
            let (a, b) = line.split_once(',')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn best_matches_equal_astropy_match_coordinates_sky() {
    let script = format!(
        "import gzip\n\
         import numpy as np\n\
         from astropy.io.votable import parse_single_table\n\
         from astropy.coordinates import SkyCoord, match_coordinates_sky\n\
         import astropy.units as u\n\
         a = parse_single_table(gzip.open('{a}')).to_table()\n\
         b = parse_single_table(gzip.open('{b}')).to_table()\n\
         ca = SkyCoord(a['ra'], a['dec'], unit='deg')\n\
         cb = SkyCoord(b['ra'], b['dec'], unit='deg')\n\
         idx, sep, _ = match_coordinates_sky(ca, cb)\n\
         for i in np.nonzero(sep <= {radius} * u.arcsec)[0]:\n    print(f'{{i}},{{idx[i]}}')",
        a = catalog("bsc5").display(),
        b = catalog("hipparcos").display(),
        radius = RADIUS_ARCSEC,
    );
    let output = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let astropy = pairs(&output.stdout);
    assert!(astropy.len() > 8000, "{} bright stars matched", astropy.len());
    assert_eq!(ours(Mode::BestForA), astropy);
}

#[test]
fn all_pairs_equal_stilts_tmatch2() {
    let home = std::env::temp_dir().join(format!("skyglass-xmatch-stilts-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    // $0 is STILTS's 1-based row number.
    let output = Command::new("stilts")
        .arg(format!("-Duser.home={}", home.display()))
        .args([
            "tmatch2",
            &format!("in1={}", catalog("bsc5").display()),
            &format!("in2={}", catalog("hipparcos").display()),
            "matcher=sky",
            &format!("params={RADIUS_ARCSEC}"),
            "values1=ra dec",
            "values2=ra dec",
            "find=all",
            "join=1and2",
            "icmd1=addcol ia $0-1",
            "icmd2=addcol ib $0-1",
            "ocmd=keepcols 'ia ib'",
            "ofmt=csv-noheader",
            "out=-",
        ])
        .output()
        .expect("stilts runs (scripts/test.sh installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stilts = pairs(&output.stdout);
    assert!(stilts.len() > 8000, "{} pairs", stilts.len());
    assert_eq!(ours(Mode::All), stilts);
    std::fs::remove_dir_all(home).unwrap();
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kernel against the tools astronomers check with: astropy's match_coordinates_sky
//! (best match) and STILTS tmatch2 (all pairs), on the Yale Bright Star Catalogue against
//! Hipparcos as bundled in assets/catalogs.

use arrow_array::Float64Array;
use skyglass_xmatch::{Mode, Positions, ProperMotions, crossmatch, propagate};
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

/// A float column of a catalogue as f64.
fn float_column(name: &str, column: &str) -> Float64Array {
    let mut xml = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(catalog(name)).unwrap()).read_to_end(&mut xml).unwrap();
    let table =
        skyglass_votable::read_table(std::io::Cursor::new(xml), skyglass_votable::TableFormat::VoTable).unwrap();
    let index = table.schema.index_of(column).unwrap();
    table
        .batches
        .iter()
        .flat_map(|batch| skyglass_xmatch::to_float64(batch.column(index)).unwrap().iter().collect::<Vec<_>>())
        .collect()
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

fn stilts(find: &str) -> BTreeSet<(usize, usize)> {
    // $0 is STILTS's 1-based row number.
    let printed = skyglass_test_support::stilts(&[
        "tmatch2",
        &format!("in1={}", catalog("bsc5").display()),
        &format!("in2={}", catalog("hipparcos").display()),
        "matcher=sky",
        &format!("params={RADIUS_ARCSEC}"),
        "values1=ra dec",
        "values2=ra dec",
        &format!("find={find}"),
        "join=1and2",
        "icmd1=addcol ia $0-1",
        "icmd2=addcol ib $0-1",
        "ocmd=keepcols 'ia ib'",
        "ofmt=csv-noheader",
        "out=-",
    ]);
    pairs(printed.as_bytes())
}

#[test]
fn all_pairs_equal_stilts_tmatch2() {
    let stilts = stilts("all");
    assert!(stilts.len() > 8000, "{} pairs", stilts.len());
    assert_eq!(ours(Mode::All), stilts);
}

/// One-to-one pairs where the tables differ in size: STILTS takes each Hipparcos star's
/// nearest bright star, then the pairs closest first.
#[test]
fn best_pairs_equal_stilts_find_best() {
    let stilts = stilts("best");
    assert!(stilts.len() > 8000, "{} pairs", stilts.len());
    assert_eq!(ours(Mode::Best), stilts);
}

/// Hipparcos (epoch 1991.25) moved to the Bright Star Catalogue's J2000 by proper motion, as
/// astropy's apply_space_motion (ERFA pmsafe) moves it, and the best matches of the two
/// catalogues at one epoch, as astropy finds them.
#[test]
fn epoch_propagation_and_its_matches_equal_astropy() {
    const RADIUS: f64 = 3.0;
    let script = format!(
        "import gzip, warnings\n\
         import numpy as np\n\
         from astropy.io.votable import parse_single_table\n\
         from astropy.coordinates import SkyCoord, match_coordinates_sky\n\
         from astropy.time import Time\n\
         import astropy.units as u\n\
         warnings.simplefilter('ignore')\n\
         a = parse_single_table(gzip.open('{a}')).to_table()\n\
         b = parse_single_table(gzip.open('{b}')).to_table()\n\
         pm = lambda c: np.asarray(b[c].filled(0), float) * u.mas / u.yr\n\
         hip = SkyCoord(b['ra'], b['dec'], unit='deg', pm_ra_cosdec=pm('pmra'), pm_dec=pm('pmde'),\n\
                        obstime=Time(1991.25, format='jyear'))\n\
         moved = hip.apply_space_motion(new_obstime=Time(2000.0, format='jyear'))\n\
         for ra, dec in zip(moved.ra.deg, moved.dec.deg):\n    print(f'{{float(ra)!r}} {{float(dec)!r}}')\n\
         print('--')\n\
         bsc = SkyCoord(a['ra'], a['dec'], unit='deg')\n\
         idx, sep, _ = match_coordinates_sky(bsc, SkyCoord(moved.ra, moved.dec))\n\
         for i in np.nonzero(sep <= {RADIUS} * u.arcsec)[0]:\n    print(f'{{i}},{{idx[i]}}')",
        a = catalog("bsc5").display(),
        b = catalog("hipparcos").display(),
    );
    let output = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    let (moved_text, matched_text) = printed.split_once("--\n").unwrap();

    let (ra, dec) = positions("hipparcos");
    let (pmra, pmdec) = (float_column("hipparcos", "pmra"), float_column("hipparcos", "pmde"));
    let (moved_ra, moved_dec) =
        propagate(Positions { ra: &ra, dec: &dec }, ProperMotions { pmra: &pmra, pmdec: &pmdec }, 8.75);
    let mut worst_mas: f64 = 0.0;
    for (row, line) in moved_text.lines().enumerate() {
        let (ra_text, dec_text) = line.split_once(' ').unwrap();
        let (theirs_ra, theirs_dec): (f64, f64) = (ra_text.parse().unwrap(), dec_text.parse().unwrap());
        let east = (moved_ra.value(row) - theirs_ra + 180.0).rem_euclid(360.0) - 180.0;
        let east = east * theirs_dec.to_radians().cos();
        worst_mas = worst_mas.max(east.hypot(moved_dec.value(row) - theirs_dec) * 3.6e6);
    }
    assert_eq!(moved_text.lines().count(), ra.len());
    assert!(worst_mas < 0.1, "positions differ from astropy's by up to {worst_mas} mas");

    let (ra_bsc, dec_bsc) = positions("bsc5");
    let found = crossmatch(
        Positions { ra: &ra_bsc, dec: &dec_bsc },
        Positions { ra: &moved_ra, dec: &moved_dec },
        RADIUS / 3600.0,
        Mode::BestForA,
    )
    .unwrap();
    let ours: BTreeSet<(usize, usize)> = found.a.iter().zip(&found.b).map(|(a, b)| (*a, b.unwrap())).collect();
    let astropy = pairs(matched_text.as_bytes());
    assert!(astropy.len() > 7000, "{} bright stars matched within {RADIUS}″", astropy.len());
    assert_eq!(ours, astropy);
}

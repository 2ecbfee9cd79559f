//! Position and time columns are found in real service output as TOPCAT finds them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use skyglass_test_support::shared_file;
use skyglass_votable::{PositionKind, detect_position, detect_proper_motion, detect_time, read_votable};

fn check(file: &str, lon: Option<&str>, lat: Option<&str>, kind: Option<PositionKind>, time: Option<&str>) {
    let votable = read_votable(&std::fs::read(shared_file(file)).unwrap()).unwrap();
    let schema = votable.meta.tables()[0].schema();
    let name = |i: usize| schema.field(i).name().clone();
    let position = detect_position(&schema);
    assert_eq!(position.as_ref().map(|p| name(p.lon)).as_deref(), lon, "{file}: longitude");
    assert_eq!(position.as_ref().map(|p| name(p.lat)).as_deref(), lat, "{file}: latitude");
    assert_eq!(position.map(|p| p.kind), kind, "{file}: kind");
    assert_eq!(detect_time(&schema).map(name).as_deref(), time, "{file}: time");
}

#[test]
fn positions_and_times_of_real_tables() {
    // UCD1+ with meta.main (Gaia archive output).
    // Its ref_epoch (meta.ref;time.epoch) is the astrometric reference epoch, not a time of
    // observation.
    check(
        "votable/astroquery/esa/1714556098855O-result.vot",
        Some("ra"),
        Some("dec"),
        Some(PositionKind::Equatorial),
        None,
    );
    // UCD1 words (an old cone search service).
    check(
        "votable/pyvo/scs/result.xml",
        Some("raj2000"),
        Some("dej2000"),
        Some(PositionKind::Equatorial),
        Some("detection_time"),
    );
    // VizieR: pos.eq.ra;meta.main, and a time.epoch column of dates.
    check(
        "votable/astropy/vizier_b2_votable.xml",
        Some("RAJ2000"),
        Some("DEJ2000"),
        Some(PositionKind::Equatorial),
        Some("ObsDate"),
    );
    // ObsCore: s_ra/s_dec.
    check(
        "footprints/pyvo/obscore-image.xml",
        Some("s_ra"),
        Some("s_dec"),
        Some(PositionKind::Equatorial),
        Some("t_min"),
    );
    // No positions at all.
    check("votable/astropy/timesys.xml", None, None, None, Some("obs_time"));
}

#[test]
fn proper_motions_of_real_tables() {
    // Gaia DR3: pmra/pmdec by UCD, not pmra_error (stat.error;pos.pm;…) nor the correlations.
    let votable =
        read_votable(&std::fs::read(shared_file("votable/astroquery/esa/1714556098855O-result.vot")).unwrap()).unwrap();
    let schema = votable.meta.tables()[0].schema();
    let found =
        detect_proper_motion(&schema).map(|(a, b)| (schema.field(a).name().clone(), schema.field(b).name().clone()));
    assert_eq!(found, Some(("pmra".to_owned(), "pmdec".to_owned())));
    // A cone search result without proper motions has none.
    let votable = read_votable(&std::fs::read(shared_file("votable/pyvo/scs/result.xml")).unwrap()).unwrap();
    assert_eq!(detect_proper_motion(&votable.meta.tables()[0].schema()), None);
}

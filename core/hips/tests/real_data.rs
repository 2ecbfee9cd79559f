#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! core/hips on the real HiPS samples in shared/data/hips, against astropy and Pillow
//! (golden/make_golden.py), and on broken input.

use skyglass_hips::{
    HipsFrame, HipsProperties, HipsSurvey, OpenError, PropertiesError, TileFormat, TilePixels, decode, split_allsky,
};
use skyglass_test_support::shared_data;
use std::path::Path;

fn hips(name: &str) -> String {
    shared_data().join("hips").join(name).to_str().unwrap().to_owned()
}

fn golden(name: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().skip(1).map(|line| line.split(',').map(str::to_owned).collect()).collect()
}

#[test]
fn properties_of_every_sample() {
    // (survey, frame, max order, tile width, formats, pixel cut)
    let expected = [
        ("DSS2Red", HipsFrame::Equatorial, 3, 512, vec![TileFormat::Jpeg, TileFormat::Fits], None),
        ("FermiColor", HipsFrame::Equatorial, 3, 512, vec![TileFormat::Jpeg], None),
        ("Planck-HFI143", HipsFrame::Galactic, 3, 256, vec![TileFormat::Jpeg, TileFormat::Fits], None),
        ("AKARI-FIS", HipsFrame::Equatorial, 5, 512, vec![TileFormat::Png, TileFormat::Jpeg], None),
        (
            "2MASS6XH",
            HipsFrame::Equatorial,
            9,
            512,
            vec![TileFormat::Png, TileFormat::Jpeg, TileFormat::Fits],
            Some([-5.716, 152.2]),
        ),
    ];
    for (name, frame, order, width, formats, cut) in expected {
        let survey = HipsSurvey::open(&hips(name)).unwrap();
        let p = survey.properties();
        assert_eq!((p.frame, p.max_order, p.tile_width), (frame, order, width), "{name}");
        assert_eq!(p.formats, formats, "{name}");
        assert_eq!(p.pixel_cut, cut, "{name}");
        assert!(p.copyright.is_some() || name == "Planck-HFI143", "{name} names its copyright");
    }
    let dss = HipsSurvey::open(&hips("DSS2Red")).unwrap();
    assert_eq!(dss.properties().title, "DSS2 Red (F+R)");
    // The old keywords: maxOrder = 9 in the file, hips_order = 3 wins.
    assert_eq!(dss.properties().get("maxOrder"), Some("9"));
}

#[test]
fn hips_lists_entries_parse_as_properties() {
    let text = std::fs::read_to_string(shared_data().join("hips/hipslist/properties.txt")).unwrap();
    let p = HipsProperties::parse(&text).unwrap();
    assert_eq!(p.title, "DSS colored");
    assert_eq!(p.frame, HipsFrame::Equatorial);
}

#[test]
fn old_keywords_alone_are_enough() {
    let p = HipsProperties::parse("label = Old survey\nmaxOrder = 8\nformat = png fits\ncoordsys = G\n").unwrap();
    assert_eq!((p.max_order, p.frame, p.title.as_str()), (8, HipsFrame::Galactic, "Old survey"));
    assert_eq!(p.formats, vec![TileFormat::Png, TileFormat::Fits]);
    assert_eq!(p.tile_width, 512);
}

#[test]
fn fits_tiles_match_astropy_including_the_real_quirks() {
    // DSS2Red writes BLANK as a float; Planck's tiles are not padded to 2880 bytes.
    for row in golden("fits_tiles.csv") {
        let bytes = std::fs::read(shared_data().join("hips").join(&row[0])).unwrap();
        let tile = decode(&bytes, TileFormat::Fits).unwrap();
        let TilePixels::Float(values) = &tile.pixels else { panic!("{}: not values", row[0]) };
        let number = |i: usize| row[i].parse::<f64>().unwrap();
        assert_eq!((tile.width, tile.height), (number(1) as u32, number(2) as u32), "{}", row[0]);
        assert_eq!(values.iter().filter(|v| v.is_nan()).count(), number(3) as usize);
        let finite: Vec<f64> = values.iter().filter(|v| v.is_finite()).map(|v| f64::from(*v)).collect();
        let close = |ours: f64, theirs: f64| (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1e-9);
        let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = finite.iter().sum::<f64>() / finite.len() as f64;
        assert!(close(min, number(4)) && close(max, number(5)), "{}: range {min}..{max}", row[0]);
        assert!(close(mean, number(6)), "{}: mean {mean}", row[0]);
        let probes = [(0, 0), (0, 17), (100, 3), (255, 255), (17, 200)];
        for (k, (r, c)) in probes.into_iter().enumerate() {
            let ours = f64::from(values[r * tile.width as usize + c]);
            assert!(close(ours, number(7 + k)), "{} at row {r} column {c}: {ours}", row[0]);
        }
    }
}

#[test]
fn allsky_splits_into_the_tiles_pillow_sees() {
    let survey = HipsSurvey::open(&hips("FermiColor")).unwrap();
    let (order, tiles) = survey.read_allsky(TileFormat::Jpeg).unwrap().unwrap();
    assert_eq!((order, tiles.len()), (3, 768));
    for row in golden("allsky_tiles.csv") {
        let index: usize = row[2].parse().unwrap();
        let side: u32 = row[3].parse().unwrap();
        let tile = &tiles[index];
        assert_eq!((tile.width, tile.height), (side, side));
        let TilePixels::Rgba8(data) = &tile.pixels else { panic!("colour expected") };
        for channel in 0..3 {
            let ours: i64 = data.iter().skip(channel).step_by(4).map(|v| i64::from(*v)).sum();
            let theirs: i64 = row[4 + channel].parse().unwrap();
            // JPEG decoders differ by a level or so per pixel; a wrong tile differs by far more.
            let per_pixel = (ours - theirs).abs() as f64 / f64::from(side * side);
            assert!(per_pixel < 1.5, "tile {index} channel {channel}: {ours} vs {theirs}");
        }
    }
}

#[test]
fn colour_tiles_decode_and_missing_tiles_are_none() {
    let survey = HipsSurvey::open(&hips("AKARI-FIS")).unwrap();
    let tile = survey.read_tile(3, 450, TileFormat::Png).unwrap().unwrap();
    assert_eq!((tile.width, tile.height), (512, 512));
    assert!(survey.read_tile(3, 0, TileFormat::Png).unwrap().is_none());
    // Deeper than the survey goes: no request at all.
    assert!(survey.read_tile(12, 0, TileFormat::Png).unwrap().is_none());
    let survey = HipsSurvey::open(&hips("2MASS6XH")).unwrap();
    assert!(survey.read_tile(6, 6077, TileFormat::Png).unwrap().is_some());
}

#[test]
fn file_urls_open_like_paths() {
    let url = format!("file://{}", hips("FermiColor"));
    assert_eq!(HipsSurvey::open(&url).unwrap().properties().max_order, 3);
}

#[test]
fn bad_locations_say_what_is_wrong() {
    let missing = HipsSurvey::open("/nonexistent/hips").unwrap_err();
    assert!(matches!(missing, OpenError::NotFound(_)), "{missing}");
    let not_hips = HipsSurvey::open(shared_data().join("hips/hipslist").to_str().unwrap()).unwrap_err();
    assert!(not_hips.to_string().contains("no `properties` file"), "{not_hips}");
    let remote = HipsSurvey::open("ftp://example.org/hips").unwrap_err();
    assert!(matches!(remote, OpenError::UnsupportedScheme(_)), "{remote}");
}

#[test]
fn malformed_properties_are_clear_errors() {
    assert_eq!(HipsProperties::parse(""), Err(PropertiesError::Empty));
    assert_eq!(HipsProperties::parse("\u{0}\u{1}binary junk\n"), Err(PropertiesError::Empty));
    assert!(matches!(HipsProperties::parse("hips_frame = equatorial\n"), Err(PropertiesError::MissingOrder(_))));
    let bad_order = HipsProperties::parse("hips_order = nine\n").unwrap_err();
    assert_eq!(bad_order.to_string(), "properties line 1: hips_order = \"nine\": not a whole number");
    let bad_frame = HipsProperties::parse("hips_order = 3\nhips_frame = lunar\n").unwrap_err();
    assert!(bad_frame.to_string().contains("line 2"), "{bad_frame}");
    let bad_width = HipsProperties::parse("hips_order = 3\nhips_tile_width = 500\n").unwrap_err();
    assert!(bad_width.to_string().contains("power of two"), "{bad_width}");
    let no_format = HipsProperties::parse("hips_order = 3\nhips_tile_format = tsv\n").unwrap_err();
    assert!(matches!(no_format, PropertiesError::NoReadableFormat(_)), "{no_format}");
    let bad_cut = HipsProperties::parse("hips_order = 3\nhips_pixel_cut = 1\n").unwrap_err();
    assert!(bad_cut.to_string().contains("two numbers"), "{bad_cut}");
}

#[test]
fn broken_tiles_are_errors_not_panics() {
    let jpeg = std::fs::read(shared_data().join("hips/FermiColor/Norder3/Dir0/Npix448.jpg")).unwrap();
    let fits = std::fs::read(shared_data().join("hips/DSS2Red/Norder3/Dir0/Npix448.fits")).unwrap();
    let cases: Vec<(&str, Vec<u8>, TileFormat)> = vec![
        ("empty jpeg", vec![], TileFormat::Jpeg),
        ("truncated jpeg", jpeg[..jpeg.len() / 3].to_vec(), TileFormat::Jpeg),
        ("jpeg as png", jpeg.clone(), TileFormat::Png),
        ("empty fits", vec![], TileFormat::Fits),
        ("header only", fits[..2880].to_vec(), TileFormat::Fits),
        ("truncated data", fits[..2880 * 20].to_vec(), TileFormat::Fits),
        ("text", b"SIMPLE  = nonsense".to_vec(), TileFormat::Fits),
        ("jpeg as fits", jpeg.clone(), TileFormat::Fits),
    ];
    for (what, bytes, format) in cases {
        assert!(decode(&bytes, format).is_err(), "{what} decoded");
    }
    // A header that claims an image far larger than the data.
    let mut huge = fits[..2880].to_vec();
    let text =
        String::from_utf8_lossy(&huge).replace("NAXIS1  =                  512", "NAXIS1  =              9999999");
    huge = text.into_bytes();
    assert!(decode(&huge, TileFormat::Fits).is_err());
}

#[test]
fn allsky_of_the_wrong_shape_is_refused() {
    let survey = HipsSurvey::open(&hips("FermiColor")).unwrap();
    let (_, tiles) = survey.read_allsky(TileFormat::Jpeg).unwrap().unwrap();
    // One 64 px tile is no order-3 mosaic.
    assert!(split_allsky(&tiles[0], 3).is_err());
    assert!(split_allsky(&tiles[0], 4).is_err());
}

#[test]
fn the_real_hips_list_parses() {
    let text = std::fs::read_to_string(shared_data().join("hips/hipslist/surveys.txt")).unwrap();
    let entries = skyglass_hips::parse_hips_list(&text);
    assert_eq!(entries.len(), 4);
    let muse = &entries[0];
    assert_eq!(muse.id, "CDS/C/MUSE-M42");
    assert_eq!(muse.title, "MUSE map of the central Orion Nebula (M 42)");
    assert_eq!(muse.regime.as_deref(), Some("Optical"));
    assert_eq!(
        muse.urls,
        vec![
            "http://alasky.unistra.fr/MUSE/MUSE-M42",
            "http://alaskybis.unistra.fr/MUSE/MUSE-M42",
            "https://alaskybis.unistra.fr/MUSE/MUSE-M42"
        ]
    );
    // Each record is a properties file in its own right.
    let properties: String = muse.properties.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
    assert_eq!(HipsProperties::parse(&properties).unwrap().max_order, 12);
    assert!(entries.iter().skip(1).all(|e| e.regime.as_deref() == Some("Infrared")));
}

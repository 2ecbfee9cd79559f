//! `skyglass coords`: positions converted between frames as astropy converts them.

use super::*;

/// The numbers on the line of `frame` in `skyglass coords` output.
fn degrees_for(output: &str, frame: &str) -> (f64, f64) {
    let line = output
        .lines()
        .find(|l| l.split_whitespace().next() == Some(frame))
        .unwrap_or_else(|| panic!("no {frame} line in {output}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    (words[1].parse().unwrap(), words[2].parse().unwrap())
}

#[test]
fn coords_matches_astropy_in_every_frame() {
    // M31 converted by astropy 8.0 (ecliptic = BarycentricMeanEcliptic, J2000).
    let expected = [
        ("icrs", 10.684583333333333, 41.26916666666667),
        ("fk5", 10.684594872622338, 41.269168125756494),
        ("galactic", 121.17424437341866, -21.572888994556944),
        ("ecliptic", 27.84927358560622, 33.349018557028785),
        ("supergalactic", 336.1933754647081, 12.5522729760409),
    ];
    let output = skyglass(&["coords", "00h42m44.3s +41d16m09s"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for (frame, lon, lat) in expected {
        let (our_lon, our_lat) = degrees_for(&text, frame);
        // The output has 9 decimals: 3.6 µas.
        assert!(
            (our_lon - lon).abs() < 2e-9 && (our_lat - lat).abs() < 2e-9,
            "{frame}: {our_lon} {our_lat} vs {lon} {lat}"
        );
    }
    assert!(text.contains("00:42:44.300 +41:16:09.00"), "{text}");
}

#[test]
fn coords_converts_from_galactic() {
    let output = skyglass(&["coords", "121.17424437341866 -21.572888994556944", "--from", "gal", "--to", "icrs"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let (lon, lat) = degrees_for(&stdout(&output), "icrs");
    assert!((lon - 10.684583333).abs() < 1e-8 && (lat - 41.269166667).abs() < 1e-8, "{lon} {lat}");
}

#[test]
fn coords_resolves_names_offline() {
    // M31's position in OpenNGC, through the bundled index.
    let output = skyglass(&["coords", "Messier 31", "--to", "icrs"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("M 31 (offline name index)"), "{}", stdout(&output));
    let (lon, lat) = degrees_for(&stdout(&output), "icrs");
    assert!((lon - 10.684792).abs() < 1e-6 && (lat - 41.269056).abs() < 1e-6, "{lon} {lat}");
}

#[test]
fn bad_positions_are_clear_errors_not_panics() {
    for (input, expected) in [
        ("10:61:00 +41:00:00", "minutes must be below 60"),
        ("10 95", "outside -90°..+90°"),
        ("Vulcan", "not in the offline name index"),
        ("10.5x 41", "unexpected character 'x'"),
    ] {
        let output = skyglass(&["coords", input]);
        assert_eq!(output.status.code(), Some(1), "{input}");
        let err = stderr(&output);
        assert!(err.contains("cannot read the position") && err.contains(expected), "{input}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let output = skyglass(&["coords", "10 20", "--from", "b1950"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown frame"));
}

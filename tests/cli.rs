//! End-to-end tests of the `skyglass` binary as a user runs it.

// Test helpers may panic: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn skyglass(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skyglass")).args(args).output().expect("the skyglass binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

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
fn version_and_help() {
    let version = skyglass(&["--version"]);
    assert!(version.status.success());
    assert_eq!(stdout(&version).trim(), format!("skyglass {}", env!("CARGO_PKG_VERSION")));

    let help = skyglass(&["--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    for expected in ["coords", "--verbose", "--quiet", "--version"] {
        assert!(text.contains(expected), "--help lacks {expected}: {text}");
    }
}

#[test]
fn without_a_display_the_app_says_so_and_exits() {
    // The desktop app needs a display; without one it must fail fast with a reason, not hang.
    let output = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .output()
        .expect("the skyglass binary runs");
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("cannot open the window") && text.contains("DISPLAY"), "{text}");
}

/// SIGTERM closes the app as its close button does: its own SAMP hub goes, lockfile and
/// all. Run on a virtual display (Xvfb) with software rendering.
#[test]
fn sigterm_closes_the_app_and_its_samp_hub_cleanly() {
    let dir = std::env::temp_dir().join(format!("skyglass-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let display = format!(":{}", 40 + std::process::id() % 500);
    let mut xvfb = Command::new("Xvfb")
        .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("Xvfb (scripts/test.sh installs it)");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let lockfile = dir.join("samp.lock");
    let mut app = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("HOME", &dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("SAMP_HUB", format!("std-lockurl:file://{}", lockfile.display()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the skyglass binary runs");
    let started = std::time::Instant::now();
    while !lockfile.exists() && started.elapsed() < std::time::Duration::from_secs(60) {
        assert!(app.try_wait().unwrap().is_none(), "the app ended before its hub started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(lockfile.exists(), "the app runs a hub of its own");
    let terminated = Command::new("kill").args(["-TERM", &app.id().to_string()]).status().unwrap();
    assert!(terminated.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = app.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the app did not close on SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut app.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(status.success(), "{status}: {errors}");
    assert!(!lockfile.exists(), "the hub's lockfile is removed");
    let _ = std::fs::remove_dir_all(&dir);
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

#[test]
fn verbosity_flags_control_logging() {
    let verbose = skyglass(&["-v", "coords", "10 20"]);
    assert!(verbose.status.success());
    assert!(stderr(&verbose).contains("parsed position"), "{}", stderr(&verbose));

    let quiet = skyglass(&["-q", "coords", "10 20"]);
    assert!(quiet.status.success());
    assert!(stderr(&quiet).is_empty(), "{}", stderr(&quiet));

    let both = skyglass(&["-q", "-v", "coords", "10 20"]);
    assert_eq!(both.status.code(), Some(2), "-q and -v together are a usage error");
}

/// The ra column of a VOTable we wrote, or of a real one.
fn votable_column(path: &std::path::Path, name: &str) -> Vec<Option<f64>> {
    use skyglass_votable::read_votable;
    let votable = read_votable(&std::fs::read(path).unwrap()).unwrap();
    let schema = votable.meta.tables()[0].schema();
    let index = schema.index_of(name).unwrap();
    let mut out = Vec::new();
    for batch in &votable.batches[0] {
        let column = arrow_cast_f64(batch.column(index));
        out.extend(column);
    }
    out
}

fn arrow_cast_f64(array: &arrow_array::ArrayRef) -> Vec<Option<f64>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let values = array.as_primitive::<Float64Type>();
    (0..values.len()).map(|i| (!values.is_null(i)).then(|| values.value(i))).collect()
}

#[test]
fn convert_between_votable_and_csv_keeps_the_values() {
    let data = skyglass_test_support::shared_data().join("votable/astroquery/esa");
    let dir = std::env::temp_dir().join(format!("skyglass-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // The Gaia archive's own CSV of a query, to VOTable: the same positions as its VOTable.
    let from_csv = dir.join("from_csv.vot");
    let output =
        skyglass(&["convert", data.join("1714556098855O-result.csv").to_str().unwrap(), from_csv.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let archive_ra = votable_column(&data.join("1714556098855O-result.vot"), "ra");
    assert_eq!(votable_column(&from_csv, "ra"), archive_ra);
    assert_eq!(votable_column(&from_csv, "dec"), votable_column(&data.join("1714556098855O-result.vot"), "dec"));

    // VOTable to CSV and back through BINARY2: nothing changes.
    let csv = dir.join("table.csv");
    let back = dir.join("back.vot");
    let output =
        skyglass(&["convert", data.join("1714556098855O-result.vot").to_str().unwrap(), csv.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = skyglass(&["convert", csv.to_str().unwrap(), back.to_str().unwrap(), "--format", "votable-binary2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(std::fs::read_to_string(&back).unwrap().contains("<BINARY2>"));
    assert_eq!(votable_column(&back, "ra"), archive_ra);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_refuses_what_it_cannot_read_and_leaves_no_file() {
    let dir = std::env::temp_dir().join(format!("skyglass-convert-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("page.xml");
    std::fs::write(&html, "<html><body>502 Bad Gateway</body></html>").unwrap();
    let out = dir.join("out.csv");
    let output = skyglass(&["convert", html.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("not a VOTable"), "{}", stderr(&output));
    assert!(!out.exists() && !dir.join("out.partial").exists());

    let output = skyglass(&["convert", html.to_str().unwrap(), dir.join("out.unknown").to_str().unwrap()]);
    assert!(stderr(&output).contains("give --format"), "{}", stderr(&output));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn parquet_keeps_values_and_vo_metadata() {
    let data = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
    let dir = std::env::temp_dir().join(format!("skyglass-parquet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let parquet = dir.join("table.parquet");
    let back = dir.join("back.vot");
    for (input, output) in [(data.as_path(), parquet.as_path()), (parquet.as_path(), back.as_path())] {
        let output = skyglass(&["convert", input.to_str().unwrap(), output.to_str().unwrap()]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert!(std::fs::read(&parquet).unwrap().starts_with(b"PAR1"));
    assert_eq!(votable_column(&back, "ra"), votable_column(&data, "ra"));
    // The UCDs and units travelled through Parquet's stored Arrow schema.
    let text = std::fs::read_to_string(&back).unwrap();
    assert!(text.contains(r#"name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main""#), "{text:.2000}");
    std::fs::remove_dir_all(&dir).ok();
}

fn hips(name: &str) -> String {
    skyglass_test_support::shared_data().join("hips").join(name).to_str().unwrap().to_owned()
}

#[test]
fn render_draws_the_reference_view() {
    // The same view as core/render's fermi_tan_icrs reference, through the command line.
    let out = std::env::temp_dir().join(format!("skyglass-render-{}.png", std::process::id()));
    let fermi = hips("FermiColor");
    let output = skyglass(&[
        "render",
        "--hips",
        &fermi,
        "--center",
        "18:00:00 -30:00:00",
        "--fov",
        "30",
        "--projection",
        "TAN",
        "--size",
        "320x240",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // Nothing said on a machine without a desktop session: the render succeeded.
    assert!(!stderr(&output).contains("XDG_RUNTIME_DIR"), "{}", stderr(&output));
    let ours = image::open(&out).unwrap().to_rgb8();
    let reference_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/render/tests/references/fermi_tan_icrs.png");
    let reference = image::open(reference_path).unwrap().to_rgb8();
    assert_eq!(ours.dimensions(), reference.dimensions());
    let close = ours
        .pixels()
        .zip(reference.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0).all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 12))
        .count();
    assert!(close as f64 >= 0.995 * f64::from(320 * 240), "only {close} pixels agree");
    std::fs::remove_file(out).unwrap();
}

#[test]
fn render_refuses_bad_views_with_a_message_and_writes_nothing() {
    let out = std::env::temp_dir().join(format!("skyglass-render-bad-{}.png", std::process::id()));
    let fermi = hips("FermiColor");
    let base = ["render", "--hips", fermi.as_str(), "-o", out.to_str().unwrap()];
    let cases: [(&[&str], &str); 6] = [
        (&["--center", "Vulcan", "--fov", "10"], "not in the offline name index"),
        (&["--center", "10 95", "--fov", "10"], "bad --center"),
        (&["--center", "10 20", "--fov", "10", "--projection", "XYZ"], "bad --projection"),
        (&["--center", "10 20", "--fov", "200", "--projection", "TAN"], "wider than TAN"),
        (&["--center", "10 20", "--fov", "-3"], "bad --fov"),
        (&["--center", "10 20", "--fov", "10", "--size", "0x100"], "bad --size"),
    ];
    for (extra, message) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let output = skyglass(&args);
        assert!(!output.status.success(), "{extra:?} succeeded");
        assert!(stderr(&output).contains(message), "{extra:?}: {}", stderr(&output));
        assert!(!out.exists(), "{extra:?} left an image");
    }
    let missing = skyglass(&["render", "--hips", "/no/such/hips", "--center", "0 0", "--fov", "1", "-o", "x.png"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("no such HiPS folder"), "{}", stderr(&missing));
}

#[test]
fn render_writes_fits_whose_wcs_astropy_reads_as_our_camera() {
    use skyglass_sky::{Angle, Frame, LonLat, Projection, ScreenPoint, ViewCamera, Viewport};
    let dir = std::env::temp_dir().join(format!("skyglass-render-fits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fermi = hips("FermiColor");
    let (width, height) = (64.0, 48.0);
    let pixels = [(0.0, 0.0), (63.0, 0.0), (0.0, 47.0), (63.0, 47.0), (10.0, 30.0), (31.0, 23.0), (50.0, 5.0)];
    for (k, projection) in Projection::ALL.into_iter().enumerate() {
        let frame = if k % 2 == 0 { Frame::Icrs } else { Frame::Galactic };
        let fov = projection.max_fov().degrees().min(70.0);
        let out = dir.join(format!("{projection}.fits"));
        let output = skyglass(&[
            "render",
            "--hips",
            &fermi,
            "--center",
            "83.8 -5.4",
            "--fov",
            &fov.to_string(),
            "--projection",
            projection.code(),
            "--frame",
            frame.name(),
            "--size",
            "64x48",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(output.status.success(), "{projection}: {}", stderr(&output));
        // astropy (WCSLIB) turns the header into sky positions...
        let script = format!(
            "from astropy.io import fits; from astropy.wcs import WCS; import json, numpy\n\
             w = WCS(fits.getheader('{}')).celestial\n\
             pixels = {:?}\n\
             out = [[float(v) for v in w.wcs_pix2world([[x + 1, {height} - y]], 1)[0]] for x, y in pixels]\n\
             print(json.dumps([[None if numpy.isnan(a) else a for a in p] for p in out]))",
            out.display(),
            pixels.map(|(x, y)| [x, y]).to_vec()
        );
        let python = Command::new("python3").args(["-c", &script]).output().unwrap();
        assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
        let theirs: Vec<[Option<f64>; 2]> = serde_json::from_slice(&python.stdout).unwrap();
        // ... which must be the ones our camera sees at those pixels.
        let centre = Frame::Icrs.convert(frame, LonLat::from_degrees(83.8, -5.4).unwrap());
        let camera = ViewCamera::new(centre, Angle::from_degrees(fov), projection, frame, Viewport { width, height });
        for ((x, y), [lon, lat]) in pixels.iter().zip(theirs) {
            let ours = camera.screen_to_sky(ScreenPoint { x: x + 0.5, y: y + 0.5 });
            match (ours, lon, lat) {
                (Some(ours), Some(lon), Some(lat)) => {
                    let separation = ours.separation(LonLat::from_degrees(lon, lat).unwrap()).degrees();
                    assert!(separation < 1e-7, "{projection} pixel ({x}, {y}): {separation}° apart");
                }
                (None, None, None) => {}
                other => panic!("{projection} pixel ({x}, {y}): {other:?}"),
            }
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `skyglass serve` on a free loopback port, stopped when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &std::path::Path) -> Server {
    serve_with(data, &[], "http")
}

/// `skyglass serve` on a free port with more arguments; its TAP URL has `scheme`.
fn serve_with(data: &std::path::Path, extra: &[&std::ffi::OsStr], scheme: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .args(["serve", "--data", data.to_str().unwrap(), "--addr", &format!("127.0.0.1:{port}")])
        .args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed().as_secs() < 120, "skyglass serve did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Server { child, url: format!("{scheme}://127.0.0.1:{port}/tap") }
}

#[test]
fn ingested_tables_are_queried_by_pyvo_like_the_samples() {
    let data = std::env::temp_dir().join(format!("skyglass-archive-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.csv");
    let ingest = |extra: &[&str]| {
        let mut args = vec!["ingest", gaia.to_str().unwrap(), "--table", "mine.gaia", "--data", data.to_str().unwrap()];
        args.extend_from_slice(extra);
        skyglass(&args)
    };
    let output = ingest(&["--description", "A Gaia DR3 source"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("mine.gaia: 1 rows now") && stdout(&output).contains("(ra, dec)"),
        "{}",
        stdout(&output)
    );
    // Ingesting again must be said explicitly.
    let again = ingest(&[]);
    assert!(!again.status.success() && stderr(&again).contains("--replace or --append"), "{}", stderr(&again));
    assert!(ingest(&["--append"]).status.success());
    // A light curve (SDO/EVE, FITS) with its time column named.
    let eve = skyglass_test_support::shared_data().join("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    let data_arg = data.to_str().unwrap();
    let output =
        skyglass(&["ingest", eve.to_str().unwrap(), "--table", "mine.eve", "--time", "SOD", "--data", data_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("mine.eve: 625 rows now") && stdout(&output).contains("time column sod"));
    let not_time =
        skyglass(&["ingest", eve.to_str().unwrap(), "--table", "mine.x", "--time", "nope", "--data", data_arg]);
    assert!(!not_time.status.success() && stderr(&not_time).contains("no column \"nope\""), "{}", stderr(&not_time));

    let server = serve(&data);
    let script = format!(
        "import pyvo\n\
         service = pyvo.dal.TAPService('{url}')\n\
         rows = service.run_sync('SELECT source_id, ra, dec FROM mine.gaia').to_table()\n\
         assert len(rows) == 2, rows\n\
         cone = service.run_sync(\"SELECT COUNT(*) AS n FROM catalogs.hipparcos WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 83.82, -5.39, 1))\").to_table()\n\
         names = [t.name for t in service.tables]\n\
         assert 'mine.gaia' in names and 'catalogs.hipparcos' in names, names\n\
         columns = service.run_sync(\"SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = 'mine.gaia'\").to_table()\n\
         later = service.run_async('SELECT TOP 4 hr, vmag FROM catalogs.bsc5 ORDER BY vmag').to_table()\n\
         assert len(later) == 4 and later['vmag'][0] < 0, later\n\
         mine = service.run_sync('SELECT source_id FROM TAP_UPLOAD.mine', uploads={{'mine': rows}}).to_table()\n\
         assert len(mine) == 2, mine\n\
         from astropy.table import Table\n\
         eve = Table.read('{eve}')\n\
         window = service.run_sync('SELECT sod, qd FROM mine.eve WHERE sod BETWEEN 7000 AND 8000').to_table()\n\
         assert len(window) == ((eve['SOD'] >= 7000) & (eve['SOD'] <= 8000)).sum() > 100, len(window)\n\
         time = service.run_sync(\"SELECT ucd, indexed FROM TAP_SCHEMA.columns WHERE table_name = 'mine.eve' AND column_name = 'sod'\").to_table()\n\
         assert time['ucd'][0] == 'time.epoch' and time['indexed'][0] == 1, time\n\
         print(int(cone['n'][0]), len(columns))",
        url = server.url,
        eve = eve.display()
    );
    let python = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let printed = String::from_utf8_lossy(&python.stdout);
    let numbers: Vec<usize> = printed.split_whitespace().map(|n| n.parse().unwrap()).collect();
    assert!(numbers[0] > 10, "stars within 1° of the Orion nebula: {printed}");
    // Gaia's columns plus the HEALPix index.
    assert!(numbers[1] > 100, "{printed}");
    drop(server);

    let dropped = skyglass(&["ingest", "--drop", "--table", "mine.gaia", "--data", data.to_str().unwrap()]);
    assert!(dropped.status.success(), "{}", stderr(&dropped));
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn taplint_finds_no_error_in_the_archive() {
    let data = std::env::temp_dir().join(format!("skyglass-taplint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = serve(&data);
    // STILTS is Java: its user files go to a folder of the test's own.
    let home = data.join("java-home");
    std::fs::create_dir_all(&home).unwrap();
    let output = Command::new("stilts")
        .arg(format!("-Duser.home={}", home.display()))
        // Every stage but LOC, which tests ObsLocTAP (observation plans): taplint 3.4 runs it on
        // every service and fails it where there is no ivoa.obsplan table.
        .args(["taplint", &format!("tapurl={}", server.url), "report=EWF", "maxrepeat=5", "stages=-LOC"])
        .output()
        .expect("stilts runs (scripts/test.sh installs it)");
    let report = String::from_utf8_lossy(&output.stdout);
    let totals = report.lines().find(|l| l.starts_with("Totals:")).unwrap_or_else(|| panic!("{report}"));
    assert!(totals.contains("Errors: 0; Warnings: 0; Failures: 0"), "{report}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn jobs_survive_kill_9_of_the_server() {
    let data = std::env::temp_dir().join(format!("skyglass-kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let client = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let submit = |base: &str, query: &str| {
        let response = client
            .post(format!("{base}/async"))
            .form(&[("LANG", "ADQL"), ("QUERY", query), ("PHASE", "RUN")])
            .send()
            .unwrap();
        response.headers()[reqwest::header::LOCATION].to_str().unwrap().rsplit('/').next().unwrap().to_owned()
    };
    let phase = |base: &str, id: &str| client.get(format!("{base}/async/{id}/phase")).send().unwrap().text().unwrap();

    let mut server = serve(&data);
    let done = submit(&server.url, "SELECT TOP 3 hr FROM catalogs.bsc5 ORDER BY hr");
    let waited = client.get(format!("{}/async/{done}?WAIT=30", server.url)).send().unwrap().text().unwrap();
    assert!(waited.contains("<uws:phase>COMPLETED</uws:phase>"), "{waited}");
    // A query that runs for minutes: every pair of Hipparcos stars.
    let busy = submit(
        &server.url,
        "SELECT COUNT(*) FROM catalogs.hipparcos AS a, catalogs.hipparcos AS b WHERE a.plx > b.plx",
    );
    let started = std::time::Instant::now();
    while phase(&server.url, &busy) != "EXECUTING" {
        assert!(started.elapsed().as_secs() < 30, "the long job never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SIGKILL: no chance to clean up.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = serve(&data);
    assert_eq!(phase(&server.url, &done), "COMPLETED");
    let result = client.get(format!("{}/async/{done}/results/result", server.url)).send().unwrap().text().unwrap();
    assert_eq!(result.matches("<TR>").count(), 3, "{result}");
    assert_eq!(phase(&server.url, &busy), "ERROR");
    let error = client.get(format!("{}/async/{busy}/error", server.url)).send().unwrap().text().unwrap();
    assert!(error.contains("the server stopped while the job was queued or running"), "{error}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

/// Pairs `(row of A, row of B)` from two columns of a headed CSV file or text.
fn id_pairs(text: &str, a: usize, b: usize) -> std::collections::BTreeSet<(i64, i64)> {
    text.lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[a].trim().parse().unwrap(), fields[b].trim().parse().unwrap())
        })
        .collect()
}

#[test]
fn xmatch_of_a_million_rows_equals_stilts_and_astropy() {
    let dir = std::env::temp_dir().join(format!("skyglass-xmatch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.fits"), dir.join("b.fits"));
    // A: a million positions uniform on the sphere; B: 70% of them moved by 0.4″ (Gaussian
    // per axis), 30% others, shuffled. Seeded.
    let script = format!(
        "import numpy as np\n\
         from astropy.table import Table\n\
         rng = np.random.default_rng(3)\n\
         n = 1_000_000\n\
         def uniform(m):\n    return rng.uniform(0, 360, m), np.degrees(np.arcsin(rng.uniform(-1, 1, m)))\n\
         ra, dec = uniform(n)\n\
         kept = rng.random(n) < 0.7\n\
         j = 0.4 / 3600\n\
         dec_b = np.clip(dec[kept] + rng.normal(0, j, kept.sum()), -90, 90)\n\
         ra_b = (ra[kept] + rng.normal(0, j, kept.sum()) / np.cos(np.radians(dec_b))) % 360\n\
         er, ed = uniform(n - kept.sum())\n\
         order = rng.permutation(n)\n\
         Table({{'id': np.arange(n), 'ra': ra, 'dec': dec}}).write('{a}')\n\
         Table({{'id': np.arange(n), 'ra': np.concatenate([ra_b, er])[order], 'dec': np.concatenate([dec_b, ed])[order]}}).write('{b}')\n",
        a = a.display(),
        b = b.display()
    );
    let made = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(made.status.success(), "{}", stderr(&made));

    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let all_csv = dir.join("all.csv");
    let all = skyglass(&["xmatch", a, b, "--radius", "1arcsec", "--mode", "all", "-o", all_csv.to_str().unwrap()]);
    assert!(all.status.success(), "{}", stderr(&all));
    assert!(stderr(&all).contains("pairs from 1000000 rows of a.fits and 1000000 of b.fits"), "{}", stderr(&all));
    let ours_all = std::fs::read_to_string(&all_csv).unwrap();
    assert!(ours_all.starts_with("id_1,ra_1,dec_1,id_2,ra_2,dec_2,separation"), "{}", &ours_all[..80]);
    let ours_all = id_pairs(&ours_all, 0, 3);

    let stilts = |find: &str| {
        let printed = skyglass_test_support::stilts(&[
            "tmatch2",
            &format!("in1={a}"),
            &format!("in2={b}"),
            "matcher=sky",
            "params=1",
            "values1=ra dec",
            "values2=ra dec",
            &format!("find={find}"),
            "ocmd=keepcols 'id_1 id_2'",
            "ofmt=csv",
            "out=-",
        ]);
        id_pairs(&printed, 0, 1)
    };
    let stilts_all = stilts("all");
    assert!(stilts_all.len() > 600_000, "{} pairs", stilts_all.len());
    assert_eq!(ours_all, stilts_all);

    // One-to-one pairs, as STILTS's find=best makes them.
    let symmetric_csv = dir.join("symmetric.csv");
    let symmetric =
        skyglass(&["xmatch", a, b, "--radius", "1arcsec", "--mode", "best", "-o", symmetric_csv.to_str().unwrap()]);
    assert!(symmetric.status.success(), "{}", stderr(&symmetric));
    assert_eq!(id_pairs(&std::fs::read_to_string(&symmetric_csv).unwrap(), 0, 3), stilts("best"));

    let best_csv = dir.join("best.csv");
    let best = skyglass(&["xmatch", a, b, "--radius", "1", "--mode", "best-a", "-o", best_csv.to_str().unwrap()]);
    assert!(best.status.success(), "{}", stderr(&best));
    let ours_best = id_pairs(&std::fs::read_to_string(&best_csv).unwrap(), 0, 3);
    let astropy = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import numpy as np\n\
                 from astropy.table import Table\n\
                 from astropy.coordinates import SkyCoord, match_coordinates_sky\n\
                 import astropy.units as u\n\
                 a, b = Table.read('{a}'), Table.read('{b}')\n\
                 idx, sep, _ = match_coordinates_sky(SkyCoord(a['ra'], a['dec'], unit='deg'), SkyCoord(b['ra'], b['dec'], unit='deg'))\n\
                 near = np.nonzero(sep <= 1 * u.arcsec)[0]\n\
                 print('id_1,id_2')\n\
                 print('\\n'.join(f'{{i}},{{j}}' for i, j in zip(a['id'][near], b['id'][idx[near]])))"
            ),
        ])
        .output()
        .unwrap();
    assert!(astropy.status.success(), "{}", stderr(&astropy));
    let astropy_best = id_pairs(&stdout(&astropy), 0, 1);
    assert!(astropy_best.len() > 600_000, "{} best matches", astropy_best.len());
    assert_eq!(ours_best, astropy_best);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn xmatch_refuses_bad_input_clearly_and_counts_skipped_rows() {
    let dir = std::env::temp_dir().join(format!("skyglass-xmatch-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let good = file("good.csv", "name,ra,dec\nx,10.0,20.0\ny,359.9999999,-5.0\n");
    let with_nan = file("nan.csv", "name,ra,dec\nx,10.0,20.0\nz,NaN,1.0\nw,,2.0\n");
    let beyond_pole = file("pole.csv", "name,ra,dec\nx,10.0,95.0\n");
    let text_positions = file("text.csv", "name,ra,dec\nx,ten,twenty\n");
    let no_positions = file("none.csv", "name,flux\nx,1.0\n");
    let out = dir.join("out.csv");
    let out = out.to_str().unwrap();
    for (args, expected) in [
        (vec![good.as_str(), beyond_pole.as_str()], "outside ±90°"),
        (vec![good.as_str(), text_positions.as_str()], "column \"ra\" of table B"),
        (vec![good.as_str(), text_positions.as_str(), "--ra-b", "ra", "--dec-b", "dec"], "not numbers"),
        (vec![good.as_str(), no_positions.as_str()], "cannot find the right ascension column of table B"),
        (vec![good.as_str(), good.as_str(), "--ra-a", "nope"], "has no column \"nope\""),
        (vec![good.as_str(), good.as_str(), "--radius=-1arcsec"], "0 or more"),
        (vec![good.as_str(), good.as_str(), "--radius", "3 parsec"], "unknown unit"),
        (vec![good.as_str(), dir.join("missing.csv").to_str().unwrap()], "cannot read"),
    ] {
        let mut full = vec!["xmatch"];
        full.extend(args.iter().copied());
        full.extend(["-o", out]);
        let output = skyglass(&full);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
        assert!(!std::path::Path::new(out).exists(), "{args:?} left an output file");
    }
    // Rows without a position are skipped and counted, never matched.
    let output = skyglass(&["xmatch", &with_nan, &good, "--radius", "1arcsec", "--mode", "all", "-o", out]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("2 rows of A had no usable position"), "{}", stderr(&output));
    let pairs = std::fs::read_to_string(out).unwrap();
    assert_eq!(pairs.lines().count(), 2, "{pairs}");
    let unmatched = skyglass(&["xmatch", &with_nan, &good, "--mode", "unmatched-a", "-o", out]);
    assert!(unmatched.status.success(), "{}", stderr(&unmatched));
    let rows: Vec<String> = std::fs::read_to_string(out).unwrap().lines().skip(1).map(str::to_owned).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows[0].starts_with("z,") && rows[1].starts_with("w,"), "{rows:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn xmatch_in_partitions_equals_xmatch_in_memory() {
    let dir = std::env::temp_dir().join(format!("skyglass-xmatch-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/catalogs");
    // Streamable copies of the bundled catalogues: Parquet and CSV.
    let bsc = dir.join("bsc5.csv");
    let hip = dir.join("hipparcos.parquet");
    for (from, to) in [("bsc5.vot.gz", &bsc), ("hipparcos.vot.gz", &hip)] {
        let converted = skyglass(&["convert", assets.join(from).to_str().unwrap(), to.to_str().unwrap()]);
        assert!(converted.status.success(), "{}", stderr(&converted));
    }
    let (bsc, hip) = (bsc.to_str().unwrap(), hip.to_str().unwrap());
    let run = |mode: &str, memory: Option<&str>, extra: &[&str]| {
        let out = dir.join(format!("{mode}-{}.csv", memory.is_some()));
        let mut args = vec!["xmatch", bsc, hip, "--radius", "60arcsec", "--mode", mode, "-o", out.to_str().unwrap()];
        args.extend(extra);
        if let Some(memory) = memory {
            args.extend(["--memory", memory]);
        }
        let output = skyglass(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        (std::fs::read_to_string(out).unwrap(), stderr(&output))
    };
    let rows = |text: &str, columns: &[usize]| -> std::collections::BTreeSet<Vec<String>> {
        text.lines()
            .skip(1)
            .map(|l| {
                let fields: Vec<&str> = l.split(',').collect();
                columns.iter().map(|&c| fields[c].to_owned()).collect()
            })
            .collect()
    };
    let epochs: &[&str] = &["--epoch-a", "2000", "--epoch-b", "1991.25"];
    for (mode, extra, columns) in [
        ("all", &[][..], &[0usize, 5][..]),
        ("best", &[][..], &[0, 5][..]),
        ("best-b", &[][..], &[0, 5][..]),
        ("best-a", epochs, &[0, 5][..]),
        ("unmatched-a", &[][..], &[0][..]),
    ] {
        let (whole, _) = run(mode, None, extra);
        let (parted, said) = run(mode, Some("1MiB"), extra);
        assert!(said.contains("partitions)"), "{mode}: {said}");
        assert_eq!(whole.lines().next(), parted.lines().next(), "{mode}: columns differ");
        let (whole, parted) = (rows(&whole, columns), rows(&parted, columns));
        assert!(whole.len() > 20, "{mode}: {} rows", whole.len());
        assert_eq!(whole, parted, "{mode}");
    }
    // Partitions write pairs as they come: formats written whole are refused clearly.
    let refused = skyglass(&["xmatch", bsc, hip, "--memory", "1MiB", "-o", dir.join("x.vot").to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("write Parquet, CSV or TSV"), "{}", stderr(&refused));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `skyglass hub`: writes its lockfile, answers a pyvo client, and on SIGTERM tells its
/// clients and removes the lockfile.
#[cfg(unix)]
#[test]
fn the_hub_command_serves_pyvo_and_cleans_up() {
    let dir = std::env::temp_dir().join(format!("skyglass-hub-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lockfile = dir.join("samp.lock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
        .args(["hub", "--lockfile", lockfile.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !lockfile.exists() {
        assert!(started.elapsed().as_secs() < 60, "skyglass hub wrote no lockfile");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let script = "from pyvo.samp import SAMPIntegratedClient\n\
                  c = SAMPIntegratedClient(name='script', addr='127.0.0.1')\n\
                  c.connect()\n\
                  print(c.get_metadata('hub')['samp.name'], c.ecall_and_wait('hub', 'samp.app.ping', '5')['samp.status'])\n\
                  c.disconnect()\n";
    let output = Command::new("python3")
        .args(["-c", script])
        .env("SAMP_HUB", format!("std-lockurl:file://{}", lockfile.display()))
        .env("HOME", &dir)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(said.trim(), "Skyglass hub samp.ok");
    // A second hub on the same lockfile refuses, saying why.
    let rival = skyglass(&["hub", "--lockfile", lockfile.to_str().unwrap()]);
    assert!(!rival.status.success());
    assert!(String::from_utf8_lossy(&rival.stderr).contains("already running"));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(child.wait().unwrap().success());
    assert!(!lockfile.exists(), "the lockfile goes with the hub");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `skyglass hub --web-profile`: pages may call (CORS), but headless there is nobody to ask,
/// so registration is refused unless --allow-web-clients says otherwise.
#[cfg(unix)]
#[test]
fn the_headless_web_profile_refuses_pages_unless_allowed() {
    let dir = std::env::temp_dir().join(format!("skyglass-hub-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let register = "<?xml version=\"1.0\"?><methodCall><methodName>samp.webhub.register</methodName><params>\
                    <param><value><struct><member><name>samp.name</name><value>page</value></member></struct></value></param>\
                    </params></methodCall>";
    for (allow, expected) in [(false, "was not allowed"), (true, "samp.private-key")] {
        let lockfile = dir.join(format!("lock-{allow}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let web_addr = format!("127.0.0.1:{port}");
        let mut args = vec!["hub", "--lockfile", lockfile.to_str().unwrap(), "--web-profile", "--web-addr", &web_addr];
        if allow {
            args.push("--allow-web-clients");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed().as_secs() < 60, "the Web Profile did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let response = reqwest::blocking::Client::new()
            .post(format!("http://{web_addr}/"))
            .header("Origin", "http://example.org")
            .body(register)
            .send()
            .unwrap();
        assert_eq!(response.headers()["access-control-allow-origin"], "http://example.org");
        let body = response.text().unwrap();
        assert!(body.contains(expected), "{body}");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        assert!(child.wait().unwrap().success());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `skyglass query` against `skyglass serve`: sync to VOTable, async with an upload to
/// Parquet, and a bad query's message from the service.
#[test]
fn query_asks_a_tap_service_like_stilts_tapquery() {
    let data = std::env::temp_dir().join(format!("skyglass-query-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let server = serve(&data);
    let out = data.join("stars.vot");
    let said = skyglass(&[
        "query",
        "--service",
        &server.url,
        "SELECT TOP 3 hip, ra, dec FROM catalogs.hipparcos ORDER BY hip",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(said.status.success(), "{}", String::from_utf8_lossy(&said.stderr));
    let table = skyglass_votable::read_table(
        std::io::BufReader::new(std::fs::File::open(&out).unwrap()),
        skyglass_votable::TableFormat::VoTable,
    )
    .unwrap();
    assert_eq!(table.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);

    let mine = skyglass_test_support::shared_file("votable/astroquery/esa/1714556098855O-result.vot");
    let counted = data.join("count.csv");
    let said = skyglass(&[
        "query",
        "--service",
        &server.url,
        "--async",
        "--upload",
        &format!("mine={}", mine.display()),
        "SELECT COUNT(*) AS n FROM TAP_UPLOAD.mine",
        "-o",
        counted.to_str().unwrap(),
    ]);
    assert!(said.status.success(), "{}", String::from_utf8_lossy(&said.stderr));
    assert_eq!(std::fs::read_to_string(&counted).unwrap().trim(), "n\n1");

    let refused = skyglass(&["query", "--service", &server.url, "SELECT nothing FROM catalogs.hipparcos"]);
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("the service says") && message.contains("nothing"), "{message}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

/// `skyglass user` with the password on standard input.
/// A certificate authority of the test's own and a server certificate it signs, for
/// localhost and 127.0.0.1, made with openssl in `dir`: (certificate, key, authority).
fn test_certificate(data: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let (certificate, key, authority) = (data.join("cert.pem"), data.join("key.pem"), data.join("ca.pem"));
    let openssl = |args: &[&str]| {
        let made = Command::new("openssl")
            .args(args)
            .current_dir(data)
            .output()
            .expect("openssl (scripts/test.sh installs it)");
        assert!(made.status.success(), "openssl {args:?}: {}", stderr(&made));
    };
    std::fs::write(
        data.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Skyglass test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "server.ext",
        "-out",
        "cert.pem",
    ]);
    (certificate, key, authority)
}

/// A table sent to TAP+'s Upload of the server at `root` (no `/tap`), as alice with her
/// password when `as_alice`, else anonymously.
fn upload_table(
    client: &reqwest::blocking::Client,
    root: &str,
    name: &str,
    bytes: Vec<u8>,
    as_alice: bool,
) -> reqwest::Result<reqwest::blocking::Response> {
    let form = reqwest::blocking::multipart::Form::new()
        .text("TABLE_NAME", name.to_owned())
        .part("FILE", reqwest::blocking::multipart::Part::bytes(bytes).file_name("table"));
    let request = client.post(format!("{}/tap-server/Upload", root.trim_end_matches("/tap"))).multipart(form);
    let request = if as_alice { request.basic_auth("alice", Some("alice password")) } else { request };
    request.send()
}

fn user(data: &std::path::Path, args: &[&str], password: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut command = Command::new(env!("CARGO_BIN_EXE_skyglass"));
    command.arg("user").args(args).args(["--data", data.to_str().unwrap(), "--password-stdin"]);
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(password) = password {
        child.stdin.as_mut().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

/// Accounts from the command line; a login form that answers a session cookie (what ESA's
/// TAP+ clients use), HTTP Basic and bearer tokens; jobs owned by who made them and hidden
/// from everyone else; wrong credentials refused, repeated failures slowed down, logout and
/// password changes ending sessions.
#[test]
fn users_log_in_with_a_form_basic_or_a_token() {
    let data = std::env::temp_dir().join(format!("skyglass-users-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let added = user(&data, &["add", "alice"], Some("correct horse battery"));
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(stdout(&added).trim(), "added alice");
    let again = user(&data, &["add", "alice"], Some("another password"));
    assert!(!again.status.success() && stderr(&again).contains("exists already"), "{}", stderr(&again));
    let bad = user(&data, &["add", "../etc"], Some("whatever12"));
    assert!(!bad.status.success() && stderr(&bad).contains("not a user name"), "{}", stderr(&bad));
    let short = user(&data, &["add", "bob"], Some("short"));
    assert!(!short.status.success() && stderr(&short).contains("at least 8"), "{}", stderr(&short));
    assert_eq!(stdout(&user(&data, &["list"], None)).trim(), "alice");
    // Nothing secret in what the archive keeps.
    let metadata = std::fs::read(data.join("archive.sqlite")).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&metadata).contains("correct horse battery"));

    let server = serve(&data);
    let client = reqwest::blocking::Client::new();
    let login = |password: &str| {
        client
            .post(format!("{}/login", server.url))
            .form(&[("username", "alice"), ("password", password)])
            .send()
            .unwrap()
    };
    assert_eq!(login("wrong password").status(), 401);
    let answer = login("correct horse battery");
    assert_eq!(answer.status(), 200);
    let cookie = answer.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("JSESSIONID="), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let token = session.trim_start_matches("JSESSIONID=").to_owned();
    let tables = |request: reqwest::blocking::RequestBuilder| request.send().unwrap().status().as_u16();
    let url = format!("{}/tables", server.url);
    assert_eq!(tables(client.get(&url).header("Cookie", &session)), 200);
    assert_eq!(tables(client.get(&url).basic_auth("alice", Some("correct horse battery"))), 200);
    assert_eq!(tables(client.get(&url).basic_auth("alice", Some("nope"))), 401);
    assert_eq!(tables(client.get(&url).bearer_auth(&token)), 200);
    assert_eq!(tables(client.get(&url).bearer_auth("not-a-session")), 401);
    // A job belongs to who made it: its owner is named, and to everyone else (another user,
    // anonymous) it does not exist, nor its results; lists show one's own jobs.
    let bob = user(&data, &["add", "bob"], Some("bob's long password"));
    assert!(bob.status.success(), "{}", stderr(&bob));
    let jobs = format!("{}/async", server.url);
    let no_redirect = reqwest::blocking::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let made = no_redirect
        .post(&jobs)
        .basic_auth("alice", Some("correct horse battery"))
        .form(&[("LANG", "ADQL"), ("QUERY", "SELECT TOP 1 hip FROM catalogs.hipparcos"), ("PHASE", "RUN")])
        .send()
        .unwrap();
    assert_eq!(made.status(), 303);
    let job = made.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned();
    let job = if job.starts_with("http") { job } else { format!("{}{job}", server.url.trim_end_matches("/tap")) };
    let as_alice = |url: &str| client.get(url).basic_auth("alice", Some("correct horse battery")).send().unwrap();
    let as_bob = |url: &str| client.get(url).basic_auth("bob", Some("bob's long password")).send().unwrap();
    assert_eq!(as_alice(&format!("{job}/owner")).text().unwrap(), "alice");
    assert!(as_alice(&job).text().unwrap().contains("<uws:ownerId>alice</uws:ownerId>"));
    for part in ["", "/phase", "/parameters", "/results", "/results/result", "/error", "/owner"] {
        assert_eq!(as_bob(&format!("{job}{part}")).status(), 404, "bob reads {part}");
        assert_eq!(client.get(format!("{job}{part}")).send().unwrap().status(), 404, "anonymous reads {part}");
        // Nor with the id escaped, which the server decodes.
        let (base, id) = job.rsplit_once('/').unwrap();
        let escaped = format!("{base}/%{:02X}{}{part}", id.as_bytes()[0], &id[1..]);
        assert_eq!(as_bob(&escaped).status(), 404, "bob reads {escaped}");
    }
    let abort = client
        .post(format!("{job}/phase"))
        .basic_auth("bob", Some("bob's long password"))
        .form(&[("PHASE", "ABORT")])
        .send()
        .unwrap();
    assert_eq!(abort.status(), 404);
    assert_eq!(client.delete(&job).basic_auth("bob", Some("bob's long password")).send().unwrap().status(), 404);
    let id = job.rsplit('/').next().unwrap().to_owned();
    assert!(as_alice(&jobs).text().unwrap().contains(&id), "alice lists her job");
    assert!(!as_bob(&jobs).text().unwrap().contains(&id), "bob does not");
    assert!(!client.get(&jobs).send().unwrap().text().unwrap().contains(&id), "nor does anonymous");

    // Logout ends the session; the cookie TAP+ keeps afterwards is merely anonymous.
    let out = client.post(format!("{}/logout", server.url)).header("Cookie", &session).send().unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(tables(client.get(&url).bearer_auth(&token)), 401);
    assert_eq!(tables(client.get(&url).header("Cookie", &session)), 200);
    // A changed password ends the sessions and the old password stops working.
    let token = login("correct horse battery").headers()[reqwest::header::SET_COOKIE].to_str().unwrap().to_owned();
    let token = token.split(';').next().unwrap().trim_start_matches("JSESSIONID=").to_owned();
    let changed = user(&data, &["passwd", "alice"], Some("a new passphrase"));
    assert!(changed.status.success(), "{}", stderr(&changed));
    assert_eq!(tables(client.get(&url).bearer_auth(&token)), 401);
    assert_eq!(login("a new passphrase").status(), 200);
    // Guessing is slowed down: after five failures in a minute (two above), even the right
    // password waits.
    let answers: Vec<u16> = (0..4).map(|_| login("guess").status().as_u16()).collect();
    assert_eq!(answers, [401, 401, 401, 429]);
    assert_eq!(login("a new passphrase").status(), 429);
    drop(server);

    // A login-only server gives anonymous callers the way in and nothing else.
    let closed = serve_with(&data, &["--login-only".as_ref()], "http");
    let status = |request: reqwest::blocking::RequestBuilder| request.send().unwrap().status().as_u16();
    assert_eq!(status(client.get(format!("{}/tables", closed.url))), 401);
    assert_eq!(status(client.get(format!("{}/sync?LANG=ADQL&QUERY=SELECT+1", closed.url))), 401);
    assert_eq!(status(client.get(format!("{}/availability", closed.url))), 200);
    assert_eq!(status(client.get(format!("{}/capabilities", closed.url))), 200);
    assert_eq!(
        status(client.get(format!("{}/tables", closed.url)).basic_auth("bob", Some("bob's long password"))),
        200
    );
    drop(closed);
    let removed = user(&data, &["remove", "alice"], None);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(stdout(&user(&data, &["list"], None)).trim(), "bob");
    // Her jobs went with her: a later alice finds none.
    assert!(!data.join("jobs").join(&id).exists());
    std::fs::remove_dir_all(data).unwrap();
}

/// `skyglass serve --tls-cert --tls-key`: HTTPS with a certificate made for the test
/// (openssl), logins over it; plain HTTP to that port gets no answer; a certificate that
/// does not load stops the server with the reason.
#[test]
fn the_archive_serves_https_with_its_certificate() {
    let data = std::env::temp_dir().join(format!("skyglass-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let (certificate, key, authority) = test_certificate(&data);
    let added = user(&data.join("archive"), &["add", "carol"], Some("a long password"));
    assert!(added.status.success(), "{}", stderr(&added));

    let server = serve_with(
        &data.join("archive"),
        &["--tls-cert".as_ref(), certificate.as_os_str(), "--tls-key".as_ref(), key.as_os_str()],
        "https",
    );
    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&authority).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder().add_root_certificate(trusted).build().unwrap();
    let base = server.url.clone();
    let available = client.get(format!("{base}/availability")).send().unwrap();
    assert_eq!(available.status(), 200);
    assert!(available.text().unwrap().contains("<vosi:available>true"));
    let login = client
        .post(format!("{base}/login"))
        .form(&[("username", "carol"), ("password", "a long password")])
        .send()
        .unwrap();
    assert_eq!(login.status(), 200);
    assert!(login.headers()[reqwest::header::SET_COOKIE].to_str().unwrap().starts_with("JSESSIONID="));
    // Plain HTTP to the TLS port, and a client that does not trust the certificate, get nothing.
    assert!(reqwest::blocking::get(format!("{}/availability", base.replacen("https", "http", 1))).is_err());
    assert!(reqwest::blocking::get(format!("{base}/availability")).is_err());
    drop(server);

    let broken = skyglass(&[
        "serve",
        "--data",
        data.join("archive").to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
        "--tls-cert",
        key.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(!broken.status.success());
    assert!(stderr(&broken).contains("certificate"), "{}", stderr(&broken));
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn astroquery_tapplus_runs_a_whole_session_over_https() {
    let data = std::env::temp_dir().join(format!("skyglass-tapplus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let (certificate, key, authority) = test_certificate(&data);
    let archive = data.join("archive");
    for (name, password) in [("alice", "alice password"), ("bob", "bobby password")] {
        let added = user(&archive, &["add", name], Some(password));
        assert!(added.status.success(), "{}", stderr(&added));
    }
    let server = serve_with(
        &archive,
        &[
            "--tls-cert".as_ref(),
            certificate.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
            "--max-upload".as_ref(),
            "32MiB".as_ref(),
        ],
        "https",
    );
    // TapPlus checks the certificate against the name it connects to.
    let base = server.url.trim_end_matches("/tap").replacen("127.0.0.1", "localhost", 1);
    let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/tapplus_session.py");
    let session = Command::new("python3")
        .arg(&script)
        .args([base.as_str(), gaia.to_str().unwrap()])
        .env("SSL_CERT_FILE", &authority)
        .env("REQUESTS_CA_BUNDLE", &authority)
        .output()
        .expect("python3 with astroquery (scripts/test.sh installs it)");
    assert!(
        session.status.success() && stdout(&session).contains("all steps passed"),
        "{}\n{}",
        stdout(&session),
        stderr(&session)
    );

    // What scripts may send by mistake or malice is refused, and the server carries on.
    let trusted = reqwest::Certificate::from_pem(&std::fs::read(&authority).unwrap()).unwrap();
    let client = reqwest::blocking::Client::builder().add_root_certificate(trusted).build().unwrap();
    let upload = |name: &str, bytes: Vec<u8>, as_alice: bool| {
        let response = upload_table(&client, &base, name, bytes, as_alice).unwrap();
        (response.status().as_u16(), response.text().unwrap_or_default())
    };
    let entities: String =
        (1..=9).map(|level| format!("<!ENTITY l{level} \"{}\">", format!("&l{};", level - 1).repeat(10))).collect();
    let bomb = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE v [<!ENTITY l0 \"lol\">{entities}]>\
         <VOTABLE version=\"1.4\"><RESOURCE><TABLE><FIELD name=\"x\" datatype=\"char\" arraysize=\"*\"/>\
         <DATA><TABLEDATA><TR><TD>&l9;</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let (status, body) = upload("bomb", bomb.into_bytes(), true);
    assert!(status == 400 && body.contains("entity"), "{status} {body}");
    let (status, body) = upload("huge", vec![b'1'; 40 << 20], true);
    assert!(status == 413 && body.contains("32 MiB"), "{status} {body}");
    // Larger than a query's 16 MiB request limit, within the upload limit: all of Hipparcos
    // (20 MB of VOTable) as the archive itself serves it.
    let hipparcos = client
        .post(format!("{base}/tap/sync"))
        .form(&[("LANG", "ADQL"), ("QUERY", "SELECT * FROM catalogs.hipparcos"), ("MAXREC", "200000")])
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    assert!(hipparcos.len() > 16 << 20, "{}", hipparcos.len());
    let (status, body) = upload("hipparcos", hipparcos, true);
    assert!(status == 200 && body.contains("user_alice.hipparcos (117955 rows)"), "{status} {body}");
    let (status, _) = upload("anonymous", std::fs::read(&gaia).unwrap(), false);
    assert_eq!(status, 401);
    let (status, body) = upload("stars", std::fs::read(&gaia).unwrap(), true);
    assert!(status == 200 && body.contains("user_alice.stars (1 rows)"), "{status} {body}");
    // The capabilities state the quotas, and give URLs that say https like the service.
    let capabilities = client.get(format!("{base}/tap/capabilities")).send().unwrap().text().unwrap();
    assert!(capabilities.contains("at most 100 tables and 1024 MiB per user"), "{capabilities}");
    assert!(capabilities.contains(&format!("<accessURL use=\"base\">{base}/tap</accessURL>")), "{capabilities}");
    // TableTool also renames and describes, and a query sees the new name and description.
    let tool = |form: &[(&str, &str)]| {
        let response = client
            .post(format!("{base}/tap-server/TableTool"))
            .basic_auth("alice", Some("alice password"))
            .form(form)
            .send()
            .unwrap();
        (response.status().as_u16(), response.text().unwrap())
    };
    // A column count past the table's is taken as the table's.
    let edited = tool(&[("ACTION", "edit"), ("TABLE0", "stars"), ("TABLE0_NUMCOLS", "18446744073709551615")]);
    assert_eq!(edited.0, 200, "{}", edited.1);
    let renamed = tool(&[("ACTION", "rename"), ("TABLE_NAME", "stars"), ("NEW_TABLE_NAME", "gaia_dr3")]);
    assert_eq!(renamed.0, 200, "{}", renamed.1);
    let described = tool(&[("ACTION", "describe"), ("TABLE_NAME", "gaia_dr3"), ("TABLE_DESC", "One DR3 source")]);
    assert_eq!(described.0, 200, "{}", described.1);
    let listed = client
        .post(format!("{base}/tap/sync"))
        .basic_auth("alice", Some("alice password"))
        .form(&[
            ("LANG", "ADQL"),
            ("RESPONSEFORMAT", "csv"),
            ("QUERY", "SELECT table_name, description FROM TAP_SCHEMA.tables WHERE table_name LIKE 'user_alice.%'"),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(listed.contains("user_alice.gaia_dr3,One DR3 source") && !listed.contains("stars"), "{listed}");
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn an_upload_cut_short_by_kill_9_leaves_no_half_table() {
    let data = std::env::temp_dir().join(format!("skyglass-kill-upload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let added = user(&data, &["add", "alice"], Some("alice password"));
    assert!(added.status.success(), "{}", stderr(&added));
    let schema = data.join("tables/user_alice");
    let client = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(120)).build().unwrap();
    let upload = move |base: &str, csv: Vec<u8>| upload_table(&client, base, "stars", csv, true);
    let mut caught = false;
    for _attempt in 0..5 {
        let server = serve(&data);
        // A real table of 117,955 stars, as the archive itself gives it.
        let csv = reqwest::blocking::Client::new()
            .post(format!("{}/sync", server.url))
            .form(&[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT hip, ra, dec, plx, pmra, pmde, hpmag FROM catalogs.hipparcos"),
                ("RESPONSEFORMAT", "csv"),
                ("MAXREC", "200000"),
            ])
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec();
        let base = server.url.clone();
        let sending = {
            let upload = upload.clone();
            std::thread::spawn(move || upload(&base, csv))
        };
        // Killed (SIGKILL, as `kill -9`) while the table's file is being written.
        let writing = loop {
            let partial = std::fs::read_dir(&schema)
                .map(|files| files.flatten().any(|f| f.file_name().to_string_lossy().ends_with(".partial")))
                .unwrap_or(false);
            if partial || sending.is_finished() {
                break partial;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        };
        drop(server);
        let _ = sending.join();
        let server = serve(&data);
        if writing {
            caught = true;
            let leftovers: Vec<_> = std::fs::read_dir(&schema).map(|f| f.flatten().collect()).unwrap_or_default();
            assert!(leftovers.is_empty(), "{leftovers:?}");
            let tables = reqwest::blocking::Client::new()
                .get(format!("{}/tables", server.url))
                .basic_auth("alice", Some("alice password"))
                .send()
                .unwrap()
                .text()
                .unwrap();
            assert!(!tables.contains("user_alice.stars"), "{tables}");
        }
        // Whatever happened before, the upload now goes through whole.
        let csv = std::fs::read(
            skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.csv"),
        )
        .unwrap();
        let done = upload(&server.url, csv).unwrap();
        let body = done.text().unwrap();
        let fresh = body.contains("user_alice.stars (1 rows)");
        let kept = body.contains("already");
        assert!(fresh || (kept && !writing), "{body}");
        if caught {
            break;
        }
        let form = [("TABLE_NAME", "stars"), ("DELETE", "TRUE")];
        let url = format!("{}/tap-server/Upload", server.url.trim_end_matches("/tap"));
        let deleted =
            reqwest::blocking::Client::new().post(url).basic_auth("alice", Some("alice password")).form(&form);
        assert_eq!(deleted.send().unwrap().status(), 200);
    }
    assert!(caught, "the upload was never caught mid-write");
    std::fs::remove_dir_all(data).unwrap();
}

#[test]
fn skyglass_query_logs_in_to_read_a_users_table() {
    let data = std::env::temp_dir().join(format!("skyglass-query-login-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let added = user(&data, &["add", "alice"], Some("alice password"));
    assert!(added.status.success(), "{}", stderr(&added));
    let server = serve(&data);
    let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
    let client = reqwest::blocking::Client::new();
    let uploaded = upload_table(&client, &server.url, "star", std::fs::read(&gaia).unwrap(), true).unwrap();
    assert_eq!(uploaded.status(), 200);

    let query = |extra: &[&str], password: &str| {
        use std::io::Write as _;
        let mut child = Command::new(env!("CARGO_BIN_EXE_skyglass"))
            .args(["query", "--service", &server.url, "SELECT source_id FROM user_alice.star"])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.as_mut().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    };
    let anonymous = query(&[], "");
    assert!(!anonymous.status.success() && stderr(&anonymous).contains("not found"), "{}", stderr(&anonymous));
    let wrong = query(&["--user", "alice", "--password-stdin"], "not her password");
    assert!(!wrong.status.success() && stderr(&wrong).contains("wrong user name or password"), "{}", stderr(&wrong));
    for extra in [&["--user", "alice", "--password-stdin"][..], &["--user", "alice", "--password-stdin", "--async"]] {
        let read = query(extra, "alice password");
        assert!(read.status.success(), "{extra:?}: {}", stderr(&read));
        assert_eq!(stdout(&read).lines().collect::<Vec<_>>(), ["source_id", "5929246508730155392"], "{extra:?}");
    }
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}

//! `skyglass render`: HiPS views to images without a window, against references and astropy.

use super::*;

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

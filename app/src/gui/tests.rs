//! The app as a user sees it, rendered headless through egui_kittest on wgpu (software
//! Vulkan where there is no GPU): it opens on the bundled sky with no network, and the
//! go-to box takes names from the offline index.

use super::{SkyglassApp, Startup};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

fn harness() -> Harness<'static, SkyglassApp> {
    Harness::builder().with_size(egui::vec2(1000.0, 700.0)).wgpu().build_eframe(|cc| {
        SkyglassApp::new(cc, Startup { online_default: false, archive: false }).expect("the app starts")
    })
}

/// Steps until the layers' Allsky images have been read on the worker threads.
fn wait_for_the_sky(harness: &mut Harness<'static, SkyglassApp>) {
    for _ in 0..200 {
        harness.step();
        if harness.state().layers.iter().all(|layer| layer.is_ready()) {
            harness.step();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("the bundled sky did not load");
}

/// The mean brightness of a rectangle of the rendered window.
fn brightness(image: &image::RgbaImage, x: std::ops::Range<u32>, y: std::ops::Range<u32>) -> f64 {
    let mut sum = 0.0;
    let mut count = 0.0;
    for row in y {
        for column in x.clone() {
            let p = image.get_pixel(column, row).0;
            sum += f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]);
            count += 3.0;
        }
    }
    sum / count
}

#[test]
fn the_first_launch_shows_the_bundled_sky_offline() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    harness.get_by_label("Fermi Color HEALPix survey");
    harness.get_by_label_contains("HEASARC");
    let image = harness.render().expect("a frame renders");
    if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
        image.save(std::env::temp_dir().join("skyglass-app-first-launch.png")).expect("saved");
    }
    // The default view is the whole sky in galactic AIT: the Milky Way, bright, across the
    // middle of the sky view (right of the 260-point layer panel); dark sky above it.
    let (width, height) = image.dimensions();
    let middle = height / 2;
    let plane = brightness(&image, width / 2..width * 3 / 4, middle - 3..middle + 3);
    let above = brightness(&image, width / 2..width * 3 / 4, middle - 100..middle - 90);
    assert!(plane > 120.0 && plane > 2.0 * above, "plane {plane}, above {above}");
}

#[test]
fn go_to_takes_names_from_the_offline_index() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    let go_to = harness.get_all_by_role(Role::TextInput).next().expect("the go-to box");
    go_to.focus();
    go_to.type_text("M31");
    harness.step();
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    harness.get_by_label("M 31 (offline name index)");
    let centre = harness.state().view.frame.convert(skyglass_sky::Frame::Icrs, harness.state().view.centre);
    assert!((centre.lon().degrees() - 10.6848).abs() < 1e-3 && (centre.lat().degrees() - 41.2691).abs() < 1e-3);

    let go_to = harness.get_all_by_role(Role::TextInput).next().expect("the go-to box");
    go_to.focus();
    go_to.type_text(" nonsense");
    harness.step();
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    harness.get_by_label_contains("not in the offline name index");
}

#[test]
fn the_plot_panel_draws_a_light_curve_from_two_points_a_pixel() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    // The GOES-15 X-ray fluxes would need their vector columns split; SDO/EVE ESP is a plain
    // table: 625 rows, times as seconds of the day.
    let eve = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    harness.get_by_label("Plot").click();
    harness.step();
    assert!(harness.state().plot.visible);
    harness.state_mut().plot.open(&eve).expect("the EVE table opens");
    harness.step();
    harness.step();
    let plot = &harness.state().plot;
    assert_eq!(plot.x_name, "SOD");
    assert_eq!(plot.series.len(), 8);
    assert!(plot.series.iter().all(|s| s.x.len() == 625 && s.x.windows(2).all(|p| p[0] <= p[1])));
    // 625 points fit in the plot's width: all of them drawn, for each of the 8 series.
    assert_eq!(plot.drawn, 8 * 625);
    // A still view reuses its picks: frames that change nothing downsample nothing.
    let before = plot.downsamplings;
    for _ in 0..5 {
        harness.step();
    }
    assert_eq!(harness.state().plot.downsamplings, before);
    harness.get_by_label_contains("x: SOD");
    let image = harness.render().expect("a frame renders");
    if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
        image.save(std::env::temp_dir().join("skyglass-app-plot.png")).expect("saved");
    }

    // The points in view go out as CSV: series, x, value.
    let dir = std::env::temp_dir().join(format!("skyglass-plot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exported = harness.state().plot.export_csv(&dir).expect("exported");
    let text = std::fs::read_to_string(exported).unwrap();
    assert!(text.starts_with("series,SOD,value\n"), "{}", &text[..40]);
    assert_eq!(text.lines().count(), 1 + 8 * 625);
    assert!(text.lines().skip(1).all(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap() >= 6250.0));

    // A table with nothing to plot says so, and keeps what was plotted.
    let names = dir.join("names.csv");
    std::fs::write(&names, "name,kind\nVega,star\nM31,galaxy\n").unwrap();
    assert!(harness.state_mut().plot.open(&names).is_err());
    assert_eq!(harness.state().plot.series.len(), 8);
    std::fs::remove_dir_all(dir).unwrap();
}

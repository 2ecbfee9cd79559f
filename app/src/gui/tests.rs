//! The app as a user sees it, rendered headless through egui_kittest on wgpu (software
//! Vulkan where there is no GPU): it opens on the bundled sky with no network, and the
//! go-to box takes names from the offline index.

use super::{SkyglassApp, Startup};
use crate::gui::plot::remote;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

pub(super) fn harness() -> Harness<'static, SkyglassApp> {
    harness_with_samp(None, None)
}

/// The app, offline, talking SAMP through the hub of `lockfile` when given.
fn harness_with_samp(
    lockfile: Option<std::path::PathBuf>,
    web: Option<std::net::SocketAddr>,
) -> Harness<'static, SkyglassApp> {
    Harness::builder().with_size(egui::vec2(1000.0, 700.0)).wgpu().build_eframe(move |cc| {
        let startup = Startup {
            online_default: false,
            archive: false,
            samp: lockfile,
            samp_web: web,
            samp_mode: super::samp::SampMode::Hub,
        };
        SkyglassApp::new(cc, startup).expect("the app starts")
    })
}

/// Steps until the layers' Allsky images have been read on the worker threads.
pub(super) fn wait_for_the_sky(harness: &mut Harness<'static, SkyglassApp>) {
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
    // middle of the sky view (below the tool bar, right of the layer panel); dark sky above.
    let sky = harness.state().sky_rect.expect("the sky view is drawn");
    let (middle, width) = (sky.center().y as u32, image.width());
    let plane = brightness(&image, width / 2..width * 3 / 4, middle - 3..middle + 3);
    let above = brightness(&image, width / 2..width * 3 / 4, middle - 100..middle - 90);
    assert!(plane > 120.0 && plane > 2.0 * above, "plane {plane}, above {above}");
}

/// Types `text` into the go-to box and presses Enter.
pub(super) fn go_to(harness: &mut Harness<'static, SkyglassApp>, text: &str) {
    let go_to = harness.get_all_by_role(Role::TextInput).next().expect("the go-to box");
    go_to.focus();
    go_to.type_text(text);
    harness.step();
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
}

/// Whether the yellow ring of a go-to target is drawn around pixel (x, y): its right side,
/// 14 points out, within a few pixels.
fn target_ring_at(image: &image::RgbaImage, pixels_per_point: f32, x: i32, y: i32) -> bool {
    let x = x + (14.0 * pixels_per_point) as i32;
    (-3..=3).flat_map(|dx| (-3..=3).map(move |dy| (dx, dy))).any(|(dx, dy)| {
        let p = image.get_pixel((x + dx) as u32, (y + dy) as u32).0;
        p[0] > 200 && p[1] > 160 && p[2] < 120
    })
}

#[test]
fn go_to_takes_names_from_the_offline_index() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    go_to(&mut harness, "M31");
    harness.get_by_label("M 31 (offline name index)");
    let centre = harness.state().view.frame.convert(skyglass_sky::Frame::Icrs, harness.state().view.centre);
    assert!((centre.lon().degrees() - 10.6848).abs() < 1e-3 && (centre.lat().degrees() - 41.2691).abs() < 1e-3);
    // From the whole sky it comes close enough to see M 31, and rings it in yellow.
    assert!((harness.state().view.fov.degrees() - 2.0).abs() < 1e-9, "{}", harness.state().view.fov.degrees());
    assert_eq!(harness.state().target.as_ref().map(|(_, name)| name.as_str()), Some("M 31"));
    let image = harness.render().expect("a frame renders");
    let sky = harness.state().sky_rect.expect("the sky view is drawn");
    let centre = sky.center() * harness.ctx.pixels_per_point();
    let yellow = target_ring_at(&image, harness.ctx.pixels_per_point(), centre.x as i32, centre.y as i32);
    assert!(yellow, "no ring around the target");

    go_to(&mut harness, " nonsense");
    harness.get_by_label_contains("not in the offline name index");
}

/// Keys typed into a panel's field stay in the field, even typed in the frame that focuses
/// it (a busy frame on a slow GPU). Regression: `-` typed into a filter zoomed the sky out.
#[test]
fn keys_typed_into_a_field_do_not_move_the_sky() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    harness.state_mut().view.fov = skyglass_sky::Angle::from_degrees(60.0);
    harness.step();
    let go_to = harness.get_all_by_role(Role::TextInput).next().expect("the go-to box");
    go_to.click();
    for _ in 0..3 {
        harness.event(egui::Event::Text("-".into()));
        harness.key_press(egui::Key::Minus);
    }
    harness.run_steps(2);
    assert_eq!(harness.state().go_to, "---");
    assert!((harness.state().view.fov.degrees() - 60.0).abs() < 1e-9, "{}", harness.state().view.fov.degrees());
    // With the pointer over the sky and no field focused, the same key zooms out.
    harness.key_press(egui::Key::Escape);
    harness.step();
    let sky = harness.state().sky_rect.expect("the sky view is drawn");
    harness.hover_at(sky.center());
    harness.step();
    harness.key_press(egui::Key::Minus);
    harness.run_steps(2);
    assert!((harness.state().view.fov.degrees() - 90.0).abs() < 1e-6, "{}", harness.state().view.fov.degrees());
}

/// Turning the grid on moves no field of the tool bar. Regression: the grid's frame chooser
/// appeared before the go-to box and pushed it (and Export PNG) aside.
#[test]
fn the_grid_toggle_moves_nothing_in_the_tool_bar() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    let before = harness.get_all_by_role(Role::TextInput).next().expect("the go-to box").rect();
    harness.get_by_label("Grid").click();
    harness.run_steps(2);
    assert!(harness.state().grid.is_some());
    let after = harness.get_all_by_role(Role::TextInput).next().expect("the go-to box").rect();
    assert_eq!(before, after);
}

/// Export PNG saves the sky view as it is on screen: the grid, its labels and the ring of a
/// go-to target are in the file. Regression: the export drew the surveys and grid lines
/// only, leaving out catalogues, MOCs, images and every label.
#[test]
fn export_png_saves_what_the_sky_view_shows() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    let dir = std::env::temp_dir().join(format!("skyglass-export-view-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    harness.state_mut().plot.export_folder = Some(dir.clone());
    go_to(&mut harness, "M31");
    harness.get_by_role_and_label(Role::Button, "Export PNG").click();
    let mut saved = None;
    for _ in 0..200 {
        harness.step();
        if let Some(path) = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "png"))
        {
            saved = Some(path);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let saved = saved.unwrap_or_else(|| panic!("no PNG in the export folder: {:?}", harness.state().status));
    harness.run_steps(2);
    assert!(harness.state().status.as_deref().is_some_and(|s| s.starts_with("saved ")), "{:?}", harness.state().status);
    let picture = image::open(&saved).expect("a PNG").to_rgba8();
    let sky = harness.state().sky_rect.expect("the sky view is drawn");
    let scale = harness.ctx.pixels_per_point();
    assert_eq!(picture.dimensions(), ((sky.width() * scale).round() as u32, (sky.height() * scale).round() as u32));
    // The target's yellow ring, 14 points right of the view's centre.
    let yellow = target_ring_at(&picture, scale, picture.width() as i32 / 2, picture.height() as i32 / 2);
    assert!(yellow, "the target's ring is not in the file");
    std::fs::remove_dir_all(dir).unwrap();
}

/// An error lands in sight: with a layer panel longer than the window, the refusal of a file
/// that does not exist is scrolled to. Regression: it sat below the fold, and the click
/// seemed to do nothing.
#[test]
fn an_error_below_the_fold_is_scrolled_into_sight() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    for _ in 0..8 {
        harness.get_by_label("Planck HFI 143 GHz (bundled)").click();
        harness.run_steps(2);
    }
    harness.state_mut().open_table("/nonexistent/stars.vot");
    let mut shown = None;
    for _ in 0..200 {
        harness.step();
        if let Some(label) = harness.query_by_label_contains("/nonexistent/stars.vot") {
            shown = Some(label.rect());
            harness.run_steps(3);
            shown = harness.query_by_label_contains("/nonexistent/stars.vot").map(|l| l.rect()).or(shown);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let shown = shown.expect("the error is shown");
    assert!(shown.max.y <= 700.0 && shown.min.y >= 0.0, "the error is at {shown:?}, out of the 700-point window");
}

/// The app with its sky loaded and the plot panel opened by its toolbar button.
fn app_with_the_plot_panel() -> Harness<'static, SkyglassApp> {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    harness.get_by_label("Plot").click();
    harness.step();
    assert!(harness.state().plot.visible);
    harness
}

#[test]
fn the_plot_panel_draws_a_light_curve_from_two_points_a_pixel() {
    let mut harness = app_with_the_plot_panel();
    // SDO/EVE ESP: a plain table of 625 rows, times as seconds of the day.
    let eve = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
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

    // The y menu adds a column the first eight left out.
    harness.get_by_label("y (8)").click();
    harness.run_steps(2);
    harness.get_by_label("CH_36").click();
    harness.run_steps(2);
    let names: Vec<String> = harness.state().plot.series.iter().map(|s| s.name.clone()).collect();
    assert_eq!(names.len(), 9, "{names:?}");
    assert!(names.contains(&"CH_36".to_owned()));
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);

    // A table with nothing to plot says so, and keeps what was plotted.
    let names = dir.join("names.csv");
    std::fs::write(&names, "name,kind\nVega,star\nM31,galaxy\n").unwrap();
    assert!(harness.state_mut().plot.open(&names).is_err());
    assert_eq!(harness.state().plot.series.len(), 9);

    // One y axis each: nine plots stacked on a shared x axis, every point still drawn.
    harness.get_by_label("y axis each").click();
    harness.run_steps(3);
    assert!(harness.state().plot.separate_axes);
    assert_eq!(harness.state().plot.drawn, 9 * 625);

    // PNG export writes what the plots show: a picture the panel's size, not blank.
    harness.state_mut().plot.export_folder = Some(dir.clone());
    harness.get_by_role_and_label(Role::Button, "PNG").click();
    for _ in 0..10 {
        harness.step();
        if matches!(harness.state().plot.exported, Some(Ok(ref path)) if path.extension().is_some_and(|e| e == "png")) {
            break;
        }
    }
    let png = match &harness.state().plot.exported {
        Some(Ok(path)) => path.clone(),
        other => panic!("no PNG: {other:?}"),
    };
    if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
        std::fs::copy(&png, std::env::temp_dir().join("skyglass-app-plot-export.png")).expect("saved");
    }
    let picture = image::open(&png).expect("a PNG").to_rgba8();
    let (width, height) = picture.dimensions();
    assert!(width > 800 && height > 100, "{width}×{height}");
    let colours: std::collections::HashSet<[u8; 4]> = picture.pixels().map(|p| p.0).collect();
    assert!(colours.len() > 20, "{} colours", colours.len());
    std::fs::remove_dir_all(dir).unwrap();
}

/// GOES-15 XRS keeps a day in one row (arrays of 42177 times and fluxes) in the second of
/// three tables: the panel picks that table, splits it into rows, and draws two points a
/// pixel of each channel.
#[test]
fn the_plot_panel_splits_a_goes_day_into_rows() {
    let mut harness = app_with_the_plot_panel();
    let goes = skyglass_test_support::shared_file("timeseries/sunpy/go1520110607.fits");
    harness.state_mut().plot.open(&goes).expect("the GOES file opens");
    harness.run_steps(3);
    let plot = &harness.state().plot;
    assert_eq!(
        plot.tables(),
        (vec!["HDU 1 EDGES".to_owned(), "HDU 2 FLUXES".to_owned(), "HDU 3 STATUS".to_owned()], 1)
    );
    assert_eq!(plot.x_name, "TIME");
    let names: Vec<&str> = plot.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["FLUX[0]", "FLUX[1]"]);
    assert!(plot.series.iter().all(|s| s.x.len() > 40_000));
    assert!(plot.drawn > 1000 && plot.drawn <= 2 * 2 * 1000, "{}", plot.drawn);

    // Zoomed into the day's last hours, then another file: its curve is drawn whole, not
    // left outside the old zoom. Regression: a new file kept the previous x range.
    let plots = harness.state().plot.plots_rect.expect("the plots are drawn");
    harness.hover_at(egui::pos2(plots.right() - 5.0, plots.center().y));
    harness.step();
    for _ in 0..4 {
        harness.event(egui::Event::Zoom(4.0));
        harness.step();
    }
    harness.run_steps(2);
    assert!(harness.state().plot.drawn < 1000, "the zoom shows a part: {}", harness.state().plot.drawn);
    let eve = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    harness.state_mut().plot.open(&eve).expect("the EVE table opens");
    harness.run_steps(3);
    assert_eq!(harness.state().plot.drawn, 8 * 625);
}

/// The archive in `data`, made ready by `prepare`, served on a free loopback port: its
/// root URL, and the runtime serving it (kept alive by the caller).
pub(super) fn serve_archive(
    data: &std::path::Path,
    prepare: impl AsyncFnOnce(&skyglass_archive::Archive),
) -> (String, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let address = runtime.block_on(async {
        let archive = skyglass_archive::Archive::open(data).await.unwrap();
        prepare(&archive).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = skyglass_archive::http::router(std::sync::Arc::new(archive)).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });
    (format!("http://{address}"), runtime)
}

/// The EVE light curves ingested sorted by time into an archive served on a free port.
fn archive_with_eve(data: &std::path::Path) -> (String, tokio::runtime::Runtime) {
    let eve = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    serve_archive(data, async |archive| {
        let bytes = std::fs::read(&eve).unwrap();
        let table = skyglass_votable::fits::read_fits_table(&bytes, None).unwrap();
        let options = skyglass_archive::IngestOptions { time: Some("sod".to_owned()), ..Default::default() };
        archive.ingest(&table, &skyglass_archive::TableName::parse("sdo.eve_esp").unwrap(), &options).await.unwrap();
    })
}

/// A series left on the archive: the panel asks /timeseries for the view at its width and
/// draws the answer; a zoom is asked for again; a wrong table or a dead server is an error
/// on the panel, not a crash.
#[test]
fn the_plot_panel_draws_a_series_the_archive_downsamples() {
    let data = std::env::temp_dir().join(format!("skyglass-plot-archive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (root, runtime) = archive_with_eve(&data);
    let mut harness = app_with_the_plot_panel();
    let url = format!("{root}/timeseries/sdo.eve_esp?x=sod&y=q_0,q_1&start=1&width=7");
    harness.state_mut().plot.open(std::path::Path::new(&url)).expect("a series URL");
    let answered = |harness: &mut Harness<'static, SkyglassApp>| {
        for _ in 0..300 {
            harness.step();
            let plot = &harness.state().plot;
            if let Some(series) = plot.archive()
                && !series.waiting()
                && (series.latest.is_some() || series.error.is_some())
            {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the archive did not answer");
    };
    answered(&mut harness);
    harness.step();
    let plot = &harness.state().plot;
    let series = plot.archive().unwrap();
    assert_eq!(series.error, None);
    assert_eq!(series.latest.as_ref().unwrap().rows, 625);
    let names: Vec<&str> = plot.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["q_0", "q_1"]);
    // Every row fits the plot's width: all 625 times of both series drawn.
    assert_eq!(plot.drawn, 2 * 625);
    harness.get_by_label_contains("625 rows in view");

    // A zoom (a double-click elsewhere resets) asks for the range in view: fewer rows.
    let mut zoomed = remote::ArchiveSeries::new(&url).unwrap();
    zoomed.want(remote::View { low: 6000.0, high: 7000.0, pixels: 50 }, || {});
    for _ in 0..300 {
        if zoomed.poll() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let answer = zoomed.latest.as_ref().expect("an answer");
    assert!(answer.rows > 50 && answer.rows < 625, "{}", answer.rows);
    assert!(answer.series.iter().all(|s| s.x.iter().all(|x| (6000.0..=7000.0).contains(x)) && s.x.len() <= 100));

    // A TAP query's result, by its sync URL: the table read in the background, plotted
    // against its time column.
    let tap = |adql: &str| {
        let query: String = adql
            .bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        format!("{root}/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY={query}")
    };
    let downloaded = |harness: &mut Harness<'static, SkyglassApp>| {
        for _ in 0..500 {
            harness.step();
            if !harness.state().plot.downloading() {
                harness.step();
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("the table did not arrive");
    };
    let query = tap("SELECT sod, q_2, q_3 FROM sdo.eve_esp WHERE sod < 7000");
    harness.state_mut().plot.open(std::path::Path::new(&query)).unwrap();
    downloaded(&mut harness);
    let plot = &harness.state().plot;
    assert_eq!(plot.error, None);
    assert_eq!(plot.x_name, "sod");
    let names: Vec<&str> = plot.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["q_2", "q_3"]);
    assert!(plot.series.iter().all(|s| s.x.len() > 100 && s.x.len() < 625 && s.x.iter().all(|&t| t < 7000.0)));
    // A query the service refuses: its message.
    harness.state_mut().plot.open(std::path::Path::new(&tap("SELECT nothing FROM sdo.eve_esp"))).unwrap();
    downloaded(&mut harness);
    let error = harness.state().plot.error.clone().expect("an error");
    assert!(error.contains("nothing"), "{error}");

    // An unknown table: the archive's reason, on the panel.
    let wrong = format!("{root}/timeseries/sdo.nothing?x=sod&y=q_0");
    harness.state_mut().plot.open(std::path::Path::new(&wrong)).unwrap();
    answered(&mut harness);
    let error = harness.state().plot.archive().unwrap().error.clone().unwrap();
    assert!(error.contains("refused") && error.contains("nothing"), "{error}");
    // A series URL without its time column.
    let no_x = format!("{root}/timeseries/sdo.eve_esp?y=q_0");
    assert!(harness.state_mut().plot.open(std::path::Path::new(&no_x)).is_err());
    drop(runtime);
    // The server gone: said so.
    harness.state_mut().plot.open(std::path::Path::new(&url)).unwrap();
    answered(&mut harness);
    let error = harness.state().plot.archive().unwrap().error.clone().unwrap();
    assert!(error.contains("cannot reach"), "{error}");
    let _ = std::fs::remove_dir_all(&data);
}

/// The app on a fresh lockfile (so it starts a hub of its own, with the Web Profile on
/// `web` if given), its sky loaded and its SAMP link connected; the folder and lockfile.
fn app_with_its_own_hub(
    name: &str,
    web: Option<std::net::SocketAddr>,
) -> (Harness<'static, SkyglassApp>, std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("skyglass-app-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lockfile = dir.join("samp.lock");
    let mut harness = harness_with_samp(Some(lockfile.clone()), web);
    wait_for_the_sky(&mut harness);
    for _ in 0..300 {
        harness.step();
        if harness.state().samp.as_ref().is_some_and(|link| link.state().connected) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (harness, dir, lockfile)
}

/// A Python script (pyvo.samp) talking through the hub of `lockfile`, its output piped.
fn python_samp_client(script: &str, lockfile: &std::path::Path, home: &std::path::Path) -> std::process::Child {
    std::process::Command::new("python3")
        .args(["-c", script])
        .env("SAMP_HUB", format!("std-lockurl:file://{}", lockfile.display()))
        .env("HOME", home)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with pyvo")
}

/// SAMP: with no hub running the app starts its own; a pyvo client finds the app by name,
/// points it at the Crab (coord.pointAt.sky) and the view goes there; the app's "Send view
/// centre" reaches the client with the same position.
#[test]
fn a_python_samp_client_points_the_view_and_hears_where_it_looks() {
    let web_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let web = std::net::SocketAddr::from(([127, 0, 0, 1], web_port));
    let (mut harness, dir, lockfile) = app_with_its_own_hub("samp", Some(web));
    let state = harness.state().samp.as_ref().unwrap().state();
    assert!(state.connected && state.status.starts_with("hub of its own"), "{}", state.status);
    assert!(lockfile.exists());

    let script = "import threading, time\n\
                  from pyvo.samp import SAMPIntegratedClient\n\
                  c = SAMPIntegratedClient(name='script', addr='127.0.0.1')\n\
                  c.connect()\n\
                  app = next(i for i in c.get_registered_clients() if c.get_metadata(i).get('samp.name') == 'Skyglass')\n\
                  heard, got = threading.Event(), []\n\
                  def on_point(key, sender, mtype, params, extra):\n    got.append((params['ra'], params['dec'])); heard.set()\n\
                  c.bind_receive_notification('coord.pointAt.sky', on_point)\n\
                  c.enotify(app, 'coord.pointAt.sky', ra='83.63308', dec='22.01450')\n\
                  print('sent', flush=True)\n\
                  heard.wait(60)\n\
                  print('got', *got[0] if got else ('none', 'none'), flush=True)\n\
                  c.disconnect()\n";
    let child = python_samp_client(script, &lockfile, &dir);
    let crab = |harness: &Harness<'static, SkyglassApp>| {
        let centre = harness.state().view.frame.convert(skyglass_sky::Frame::Icrs, harness.state().view.centre);
        (centre.lon().degrees() - 83.63308).abs() < 1e-6 && (centre.lat().degrees() - 22.0145).abs() < 1e-6
    };
    for _ in 0..1500 {
        harness.step();
        if crab(&harness) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(crab(&harness), "the view did not go to the Crab");
    // The window lists the script by name; its button sends the view's centre.
    harness.get_by_label("SAMP").click();
    for _ in 0..100 {
        harness.step();
        if harness.state().samp.as_ref().unwrap().state().clients.iter().any(|(_, name)| name == "script") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    harness.run_steps(2);
    harness.get_by_label_contains("script (");
    harness.get_by_label("Send view centre").click();
    harness.run_steps(3);
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}{}", String::from_utf8_lossy(&output.stderr));
    let got: Vec<&str> = said.lines().last().unwrap().split_whitespace().collect();
    assert_eq!(got[0], "got", "{said}");
    let (ra, dec): (f64, f64) = (got[1].parse().unwrap(), got[2].parse().unwrap());
    assert!((ra - 83.63308).abs() < 1e-6 && (dec - 22.0145).abs() < 1e-6, "{said}");
    // A web page asks to join through the Web Profile: the app asks the user, who allows it.
    let page = std::thread::spawn(move || {
        let register = "<?xml version=\"1.0\"?><methodCall><methodName>samp.webhub.register</methodName><params>\
                        <param><value><struct><member><name>samp.name</name><value>Sky page</value></member></struct></value></param>\
                        </params></methodCall>";
        reqwest::blocking::Client::new()
            .post(format!("http://{web}/"))
            .header("Origin", "http://example.org")
            .body(register)
            .send()
            .and_then(|r| r.text())
    });
    for _ in 0..300 {
        harness.step();
        if harness.query_by_label("Allow").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    harness.get_by_label_contains("\"Sky page\" from http://example.org");
    harness.get_by_label("Allow").click();
    harness.run_steps(3);
    let answer = page.join().unwrap().expect("the hub answered");
    assert!(answer.contains("samp.private-key"), "{answer}");
    // Closing the app stops its hub: the lockfile goes.
    harness.state().samp.as_ref().unwrap().leave();
    assert!(!lockfile.exists(), "the app's hub left its lockfile behind");
    drop(harness);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SAMP tables: a pyvo client sends the EVE light curves (table.load.fits) and the app plots
/// them; the app's "Send plotted table" serves them as a VOTable that astropy reads back.
#[test]
fn a_python_samp_client_and_the_app_exchange_tables() {
    let (mut harness, dir, lockfile) = app_with_its_own_hub("samp-tables", None);
    let eve = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    let script = format!(
        "import threading\n\
         from astropy.table import Table\n\
         from pyvo.samp import SAMPIntegratedClient\n\
         c = SAMPIntegratedClient(name='script', addr='127.0.0.1')\n\
         c.connect()\n\
         app = next(i for i in c.get_registered_clients() if c.get_metadata(i).get('samp.name') == 'Skyglass')\n\
         heard, got = threading.Event(), []\n\
         def on_table(key, sender, mtype, params, extra):\n    got.append(params); heard.set()\n\
         c.bind_receive_notification('table.load.votable', on_table)\n\
         r = c.ecall_and_wait(app, 'table.load.fits', '60', url='file://{}', name='EVE ESP')\n\
         print('loaded', r['samp.status'], flush=True)\n\
         heard.wait(60)\n\
         t = Table.read(got[0]['url'], format='votable')\n\
         print('got', got[0]['name'], len(t), t.colnames[0], flush=True)\n\
         c.disconnect()\n",
        eve.display()
    );
    let child = python_samp_client(&script, &lockfile, &dir);
    for _ in 0..1500 {
        harness.step();
        if harness.state().plot.series.len() == 8 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let plot = &harness.state().plot;
    assert_eq!(plot.series.len(), 8, "the EVE table was not plotted");
    assert!(plot.visible && plot.path == "EVE ESP");
    harness.get_by_label("SAMP").click();
    harness.run_steps(4);
    harness.get_by_label("Send plotted table").click();
    harness.run_steps(3);
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(said.lines().collect::<Vec<_>>(), ["loaded samp.ok", "got EVE ESP 625 Q_0"], "{said}");
    harness.state().samp.as_ref().unwrap().leave();
    drop(harness);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SAMP with a table on the sky: a pyvo client sends 2MASS sources around M31, highlights a
/// row and selects others, and sends a MOC and an image (M13, with its WCS); the app shows
/// them. Then the app tells the
/// client the row the user selected, and sends the MOC and the view as a FITS image (the
/// default view: Galactic AIT), which the client reads.
#[test]
fn samp_highlights_selections_mocs_and_images_go_both_ways() {
    let (mut harness, dir, lockfile) = app_with_its_own_hub("samp-sky", None);
    let table = skyglass_test_support::shared_file("votable/astropy/irsa-nph-m31.xml");
    let moc = skyglass_test_support::shared_file("moc/mocpy/P-GALEXGR6-AIS-FUV.fits");
    let image = skyglass_test_support::shared_file("fits/astropy/m13.fits");
    let script = format!(
        "import threading, urllib.request\n\
         from astropy.io import fits\n\
         from pyvo.samp import SAMPIntegratedClient\n\
         c = SAMPIntegratedClient(name='script', addr='127.0.0.1')\n\
         c.connect()\n\
         app = next(i for i in c.get_registered_clients() if c.get_metadata(i).get('samp.name') == 'Skyglass')\n\
         wanted = ['table.highlight.row', 'coverage.load.moc.fits', 'image.load.fits']\n\
         got, events = {{}}, {{m: threading.Event() for m in wanted}}\n\
         def on(key, sender, mtype, params, extra):\n    got[mtype] = params; events[mtype].set()\n\
         for m in wanted: c.bind_receive_notification(m, on)\n\
         t = {{'table-id': 'm31-2mass'}}\n\
         print('table', c.ecall_and_wait(app, 'table.load.votable', '60', url='file://{table}', name='2MASS M31', **t)['samp.status'], flush=True)\n\
         print('highlight', c.ecall_and_wait(app, 'table.highlight.row', '30', row='3', **t)['samp.status'], flush=True)\n\
         print('select', c.ecall_and_wait(app, 'table.select.rowList', '30', **{{'row-list': ['0', '2', '4']}}, **t)['samp.status'], flush=True)\n\
         print('moc', c.ecall_and_wait(app, 'coverage.load.moc.fits', '60', url='file://{moc}', name='GALEX AIS FUV')['samp.status'], flush=True)\n\
         print('image', c.ecall_and_wait(app, 'image.load.fits', '60', url='file://{image}', name='M13')['samp.status'], flush=True)\n\
         for m in wanted: events[m].wait(120)\n\
         h = got['table.highlight.row']\n\
         print('heard highlight', h['table-id'], h['row'], flush=True)\n\
         print('heard moc', urllib.request.urlopen(got['coverage.load.moc.fits']['url']).read()[:6].decode(), flush=True)\n\
         with fits.open(got['image.load.fits']['url']) as f: print('heard image', f[0].header['CTYPE1'], flush=True)\n\
         c.disconnect()\n",
        table = table.display(),
        moc = moc.display(),
        image = image.display(),
    );
    let mut child = python_samp_client(&script, &lockfile, &dir);
    let mut answered = false;
    for _ in 0..6000 {
        harness.step();
        let app = harness.state();
        let received = app.catalogues.len() == 1
            && app.catalogues[0].selected == Some(3)
            && app.catalogues[0].row_list.iter().copied().eq([0, 2, 4])
            && app.coverages.len() == 1
            && app.images.len() == 1;
        if received && !answered {
            assert_eq!((app.images[0].width, app.images[0].height), (300, 300));
            assert_eq!(app.catalogues[0].rows(), 18);
            // The user picks another row; the client hears of it.
            harness.state_mut().catalogues[0].select(Some(1), true);
            harness.get_by_label("SAMP").click();
            harness.run_steps(3);
            harness.get_by_label("Send GALEX AIS FUV").click();
            harness.step();
            harness.get_by_label("Send view as FITS").click();
            harness.step();
            answered = true;
        }
        if answered && child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(answered, "the app did not show what the client sent");
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        said.lines().collect::<Vec<_>>(),
        [
            "table samp.ok",
            "highlight samp.ok",
            "select samp.ok",
            "moc samp.ok",
            "image samp.ok",
            "heard highlight m31-2mass 1",
            "heard moc SIMPLE",
            "heard image GLON-AIT"
        ],
        "{said}"
    );
    harness.state().samp.as_ref().unwrap().leave();
    drop(harness);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An astropy SAMP hub on `lockfile`, run by Python until a line arrives on its input.
fn astropy_hub(lockfile: &std::path::Path, home: &std::path::Path) -> std::process::Child {
    let script = format!(
        "import sys\n\
         from astropy.samp import SAMPHubServer\n\
         h = SAMPHubServer(lockfile='{}', web_profile=False)\n\
         h.start()\n\
         print('up', flush=True)\n\
         sys.stdin.readline()\n\
         h.stop()\n",
        lockfile.display()
    );
    let mut child = std::process::Command::new("python3")
        .args(["-c", &script])
        .env("HOME", home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 with astropy");
    // astropy logs to standard output too: read up to the hub's "up".
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    assert!(lines.any(|line| line.is_ok_and(|l| l.trim() == "up")), "the astropy hub started");
    // Keep reading, or its log of stopping would break its pipe before it cleans up.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

fn stop_astropy_hub(mut hub: std::process::Child) {
    use std::io::Write as _;
    let _ = hub.stdin.as_mut().unwrap().write_all(b"stop\n");
    let _ = hub.wait();
}

fn step_until_samp(
    harness: &mut Harness<'static, SkyglassApp>,
    what: &str,
    done: impl Fn(&super::samp::LinkState) -> bool,
) {
    for _ in 0..1500 {
        harness.step();
        if harness.state().samp.as_ref().is_some_and(|link| done(&link.state())) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{what}: {:?}", harness.state().samp.as_ref().map(|link| link.state().status));
}

/// The app follows hubs that come and go: set to join only, it joins an astropy hub, waits
/// when that hub stops (starting none itself) and joins the next; set to run a hub, it
/// starts its own when the astropy hub stops.
#[test]
fn the_app_follows_samp_hubs_that_come_and_go() {
    let dir = std::env::temp_dir().join(format!("skyglass-app-samp-hubs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lockfile = dir.join("samp.lock");
    for mode in [super::samp::SampMode::Join, super::samp::SampMode::Hub] {
        let first = astropy_hub(&lockfile, &dir);
        let mut harness = Harness::builder().with_size(egui::vec2(800.0, 600.0)).wgpu().build_eframe({
            let lockfile = lockfile.clone();
            move |cc| {
                let startup = Startup {
                    online_default: false,
                    archive: false,
                    samp: Some(lockfile),
                    samp_web: None,
                    samp_mode: mode,
                };
                SkyglassApp::new(cc, startup).expect("the app starts")
            }
        });
        step_until_samp(&mut harness, "joining the astropy hub", |s| s.connected && s.status == "joined the hub");
        stop_astropy_hub(first);
        match mode {
            super::samp::SampMode::Join => {
                step_until_samp(&mut harness, "waiting", |s| !s.connected && s.status.contains("waiting"));
                std::thread::sleep(std::time::Duration::from_secs(3));
                harness.step();
                assert!(!lockfile.exists(), "a joining app starts no hub");
                let second = astropy_hub(&lockfile, &dir);
                step_until_samp(&mut harness, "joining the next hub", |s| s.connected && s.status == "joined the hub");
                harness.state().samp.as_ref().unwrap().leave();
                stop_astropy_hub(second);
            }
            super::samp::SampMode::Hub => {
                step_until_samp(&mut harness, "a hub of its own", |s| s.connected && s.status.contains("of its own"));
                assert!(lockfile.exists());
                harness.state().samp.as_ref().unwrap().leave();
                assert!(!lockfile.exists(), "leaving removes its hub's lockfile");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A benchmark, not a check (it asserts nothing about time): how long the UI thread's own
/// work takes a frame while a million-row VOTable is opened and placed, and while it is sent
/// over SAMP, beside the work those took on the UI thread before it moved to workers
/// (building the catalogue, writing the VOTable). Run it with
/// `cargo test -p skyglass --bin skyglass -- --ignored --nocapture frame_work`.
#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn frame_work_while_a_million_rows_load_and_go_out_over_samp() {
    use arrow_array::{Float64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};
    use std::time::{Duration, Instant};
    const ROWS: usize = 1_000_000;
    let (mut harness, dir, _lockfile) = app_with_its_own_hub("frame-work", None);
    // A million sources spread over the sky (a fixed sequence: the same table each run).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut ra, mut dec, mut mag) = (Vec::with_capacity(ROWS), Vec::with_capacity(ROWS), Vec::with_capacity(ROWS));
    for _ in 0..ROWS {
        ra.push(next() * 360.0);
        dec.push((next() * 2.0 - 1.0).asin().to_degrees());
        mag.push(6.0 + next() * 14.0);
    }
    let unit = |name: &str, ucd: &str, unit: &str| {
        Field::new(name, DataType::Float64, false).with_metadata(std::collections::HashMap::from([
            ("ucd".to_owned(), ucd.to_owned()),
            ("unit".to_owned(), unit.to_owned()),
        ]))
    };
    let schema = std::sync::Arc::new(Schema::new(vec![
        unit("ra", "pos.eq.ra;meta.main", "deg"),
        unit("dec", "pos.eq.dec;meta.main", "deg"),
        unit("mag", "phot.mag", "mag"),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(Float64Array::from(ra)),
            std::sync::Arc::new(Float64Array::from(dec)),
            std::sync::Arc::new(Float64Array::from(mag)),
        ],
    )
    .unwrap();
    let table =
        skyglass_votable::TableData { schema, batches: vec![batch], options: Default::default(), diagnostic_count: 0 };
    let path = dir.join("million.vot");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    skyglass_votable::write_table(&mut file, &table, skyglass_votable::TableFormat::VoTableBinary2, Vec::new())
        .unwrap();
    drop(file);

    // What the UI thread did in one frame before: build the catalogue, write the VOTable.
    let started = Instant::now();
    let catalogue = super::Catalogue::new(0, "million", &table).unwrap();
    let building = started.elapsed();
    let started = Instant::now();
    let mut votable = Vec::new();
    skyglass_votable::write_table(
        &mut votable,
        &catalogue.table(),
        skyglass_votable::TableFormat::VoTableBinary2,
        Vec::new(),
    )
    .unwrap();
    let writing = started.elapsed();
    drop((catalogue, votable));

    let run_until = |harness: &mut Harness<'static, SkyglassApp>, done: &dyn Fn(&SkyglassApp) -> bool| {
        harness.state_mut().frame_work = super::FrameWork::default();
        let started = Instant::now();
        while !done(harness.state()) && started.elapsed() < Duration::from_secs(600) {
            harness.step();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(done(harness.state()), "did not finish");
        (harness.state().frame_work, started.elapsed())
    };
    harness.state_mut().open_table(path.to_str().unwrap());
    let (opening, opened_in) =
        run_until(&mut harness, &|app| app.catalogues.len() == 1 && !app.catalogues[0].placing());
    let id = harness.state().catalogues[0].id;
    harness.state_mut().samp_send(super::SampSend::Catalogue(id)).unwrap();
    let (sending, sent_in) = run_until(&mut harness, &|app| app.background.is_empty() && app.samp_keys.is_empty());
    println!(
        "frame work, a million rows (this build's profile): opened and placed in {opened_in:.1?}, the longest frame's \
         own work {:.1?} over {} frames (before: {building:.1?} building the catalogue in one frame); sent over SAMP \
         in {sent_in:.1?}, the longest {:.1?} over {} frames (before: {writing:.1?} writing the VOTable in one frame)",
        opening.longest, opening.frames, sending.longest, sending.frames
    );
    let _ = std::fs::remove_dir_all(dir);
}

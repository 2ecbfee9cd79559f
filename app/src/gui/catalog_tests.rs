//! Catalogues as a user meets them, headless through egui_kittest: a query typed in the
//! query panel and run against a real archive server, its rows in the table view, a row
//! clicked and its marker ringed on the sky; footprints from a file; bad input reported in
//! the panel with nothing lost.

use super::SkyglassApp;
use super::query::JobState;
use super::tests::{go_to, harness, serve_archive, wait_for_the_sky};
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// The archive with its sample catalogues (Hipparcos, BSC5, OpenNGC), served on a free port;
/// its TAP URL, and the runtime to keep it alive.
fn archive_with_samples(data: &std::path::Path) -> (String, tokio::runtime::Runtime) {
    let (root, runtime) = serve_archive(data, async |archive| archive.ensure_samples().await.unwrap());
    (format!("{root}/tap"), runtime)
}

/// Steps until `done` holds, for at most a minute.
fn step_until(harness: &mut Harness<'static, SkyglassApp>, what: &str, done: impl Fn(&SkyglassApp) -> bool) {
    for _ in 0..3000 {
        harness.step();
        if done(harness.state()) {
            harness.step();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let app = harness.state();
    panic!(
        "{what} did not happen (overview: {} pending, {:?}, {:?}; jobs: {:?})",
        app.overview.pending,
        app.overview.counts,
        app.overview.errors,
        app.query.jobs.iter().map(|j| j.label.clone()).collect::<Vec<_>>()
    );
}

/// The app with the query panel open on the service at `url`, its tables read.
fn query_panel_on(url: &str) -> Harness<'static, SkyglassApp> {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    harness.get_by_label("Query").click();
    harness.step();
    harness.state_mut().query.service = url.to_owned();
    step_until(&mut harness, "the tables list", |app| app.query.tables().is_some_and(|t| !t.is_empty()));
    harness
}

fn last_job(app: &SkyglassApp) -> Option<&JobState> {
    app.query.jobs.last().map(|job| &job.state)
}

fn finished(app: &SkyglassApp) -> bool {
    !app.query.jobs.is_empty() && !app.query.running()
}

/// Types the ADQL into the editor and presses Run.
fn run_adql(harness: &mut Harness<'static, SkyglassApp>, adql: &str) {
    type_into_editor(harness, "", adql);
    // The editor grows with long text: the button is found where the settled layout puts it.
    harness.run_steps(2);
    harness.get_by_label("Run").click();
    harness.step();
}

#[test]
fn a_query_typed_and_run_lands_on_the_sky_and_in_the_table() {
    let data = std::env::temp_dir().join(format!("skyglass-query-panel-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (url, runtime) = archive_with_samples(&data);
    // The tables browser reads the service's tables (VOSI).
    let mut harness = query_panel_on(&url);
    harness.get_by_label("catalogs.hipparcos");

    // The ten brightest stars of Hipparcos.
    run_adql(&mut harness, "SELECT TOP 10 hip, ra, dec, hpmag FROM catalogs.hipparcos ORDER BY hpmag");
    step_until(&mut harness, "the query", finished);
    assert!(matches!(last_job(harness.state()), Some(JobState::Done { rows: 10, overflow: false })));
    assert_eq!(harness.state().catalogues.len(), 1);
    // Named for the table it queried, with nothing chosen in the tables tree.
    assert_eq!(harness.state().catalogues[0].name, "catalogs.hipparcos");
    // Its layer offers to show it: the ten brightest stars are all over the sky.
    harness.get_by_label("go to").click();
    harness.run_steps(2);
    let (centre, radius) = harness.state().catalogues[0].extent().expect("placed sources");
    assert!(radius.degrees() > 90.0, "{}", radius.degrees());
    let view = harness.state().view.frame.convert(skyglass_sky::Frame::Icrs, harness.state().view.centre);
    assert!(view.separation(centre).degrees() < 1e-9);
    harness.get_by_label("10 of 10 rows");
    // Sirius (HIP 32349) heads the table; clicking it selects it and centres the sky on it.
    harness.get_by_label("32349").click();
    harness.run_steps(3);
    let catalogue = &harness.state().catalogues[0];
    assert_eq!(catalogue.selected, Some(0));
    let centre = harness.state().view.frame.convert(skyglass_sky::Frame::Icrs, harness.state().view.centre);
    assert!((centre.lon().degrees() - 101.287).abs() < 0.01 && (centre.lat().degrees() + 16.716).abs() < 0.01);
    // The selected marker is ringed in yellow at the centre of the sky view.
    harness.run_steps(2);
    let image = harness.render().expect("a frame renders");
    if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
        image.save(std::env::temp_dir().join("skyglass-app-query.png")).expect("saved");
    }
    let rect = harness.state().sky_rect.expect("the sky was drawn");
    let (cx, cy) = (rect.center().x, rect.center().y);
    let ring = (harness.state().catalogues[0].style.size * 1.6 + 4.0) / 2.0;
    let yellow = (0..72)
        .filter(|i| {
            let angle = f32::from(*i as u8) * std::f32::consts::TAU / 72.0;
            // Within a pixel of the ring's radius: the view's centre may fall between pixels.
            [ring - 1.0, ring, ring + 1.0].iter().any(|r| {
                let (x, y) = (cx + r * angle.cos(), cy + r * angle.sin());
                let p = image.get_pixel(x.round() as u32, y.round() as u32).0;
                p[0] > 180 && p[1] > 180 && p[2] < 120
            })
        })
        .count();
    assert!(yellow > 30, "the ring around Sirius: {yellow} of 72 points yellow");

    // A clicked source on the sky selects its row: Canopus, from the view centred on it.
    let canopus = harness.state().catalogues[0].ra.iter().position(|ra| (ra - 95.988).abs() < 0.01).unwrap();
    harness.state_mut().view.go_to_icrs(skyglass_sky::LonLat::from_degrees(95.988, -52.696).unwrap());
    harness.run_steps(2);
    let rect = harness.state().sky_rect.unwrap();
    harness.hover_at(rect.center());
    harness.step();
    harness.drag_at(rect.center());
    harness.step();
    harness.drop_at(rect.center());
    harness.run_steps(3);
    assert_eq!(harness.state().catalogues[0].selected, Some(canopus));

    // The loaded stars go back with a query as TAP_UPLOAD.bright, matched to Hipparcos.
    let first = harness.state().catalogues[0].id;
    harness.state_mut().query.upload = Some(first);
    harness.state_mut().query.upload_name = "bright".into();
    run_adql(
        &mut harness,
        "SELECT b.hip, b.ra, b.dec, h.plx FROM TAP_UPLOAD.bright AS b JOIN catalogs.hipparcos AS h \
         ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', h.ra, h.dec, 1.0 / 3600))",
    );
    step_until(&mut harness, "the query with an upload", finished);
    assert!(matches!(last_job(harness.state()), Some(JobState::Done { rows: 10, .. })), "each star found itself");
    assert_eq!(harness.state().catalogues.len(), 2, "{:?}", harness.state().status);
    harness.state_mut().catalogues.pop();
    harness.state_mut().query.upload = None;

    // The same query as an asynchronous UWS job.
    harness.get_by_label("asynchronous job").click();
    run_adql(&mut harness, "SELECT TOP 25 * FROM catalogs.bsc5 WHERE vmag < 2");
    step_until(&mut harness, "the async job", finished);
    assert!(matches!(last_job(harness.state()), Some(JobState::Done { rows: 25, .. })), "the job ran");
    assert_eq!(harness.state().catalogues.len(), 2);

    // Bad input: a wrong query, a table without positions, a dead service. Each says why in
    // the panel; the catalogues already loaded stay.
    run_adql(&mut harness, "SELECT nonsense FROM catalogs.hipparcos");
    step_until(&mut harness, "the bad query", finished);
    let Some(JobState::Failed(error)) = last_job(harness.state()) else { panic!("the bad query failed") };
    assert!(error.contains("nonsense"), "{error}");
    harness.get_by_label_contains("nonsense");
    run_adql(&mut harness, "SELECT TOP 3 table_name, description FROM TAP_SCHEMA.tables");
    step_until(&mut harness, "the query of a table with no positions", finished);
    harness.run_steps(2);
    let status = harness.state().status.clone().unwrap_or_default();
    assert!(status.contains("no position columns"), "{status}");
    harness.state_mut().query.service = "http://127.0.0.1:9/tap".into();
    step_until(&mut harness, "the dead service's tables", |app| app.query.tables_error().is_some());
    harness.get_by_label_contains("no tables");
    run_adql(&mut harness, "SELECT TOP 1 * FROM catalogs.hipparcos");
    step_until(&mut harness, "the dead service", finished);
    assert!(matches!(last_job(harness.state()), Some(JobState::Failed(_))));
    assert_eq!(harness.state().catalogues.len(), 2, "nothing loaded was lost");
    drop(harness);
    drop(runtime);
    let _ = std::fs::remove_dir_all(&data);
}

/// A file dropped on the window, as the window system hands it to egui.
#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn footprints_open_from_a_file_and_a_table_without_positions_is_refused() {
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    // pyvo's ObsCore sample, dropped on the window: s_region polygons.
    let obscore = skyglass_test_support::shared_file("footprints/pyvo/obscore-image.xml");
    harness.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(obscore)));
    step_until(&mut harness, "the dropped ObsCore file", |app| !app.catalogues.is_empty());
    let catalogue = &harness.state().catalogues[0];
    assert!(!catalogue.footprints.is_empty(), "its s_regions read as footprints");
    assert_eq!(catalogue.bad_regions.0, 0);

    // MOCs (FITS and JSON) become coverage layers, told from tables by their content.
    for file in ["moc/mocpy/P-GALEXGR6-AIS-FUV.fits", "moc/cds-moc-rust/glimpse.moc.json"] {
        let before = harness.state().coverages.len();
        harness.state_mut().open_table(&skyglass_test_support::shared_file(file).to_string_lossy());
        step_until(&mut harness, file, |app| app.coverages.len() > before);
    }
    // A FITS image with its WCS becomes an image layer.
    harness.state_mut().open_table(&skyglass_test_support::shared_file("fits/astropy/m13.fits").to_string_lossy());
    step_until(&mut harness, "the M13 image", |app| !app.images.is_empty());
    assert_eq!(harness.state().images[0].wcs.projection, skyglass_sky::Projection::Tan);
    assert_eq!(harness.state().catalogues.len(), 1);
    // Its "go to" centres it where astropy.wcs puts the image's middle pixel.
    harness.run_steps(2);
    // The image's button is the last "go to" of the panel, under the table view here.
    harness.get_all_by_label("go to").last().expect("the image's go to").click_accesskit();
    harness.run_steps(2);
    let view = harness.state().view.frame.convert(skyglass_sky::Frame::Icrs, harness.state().view.centre);
    let (ra, dec) = (view.lon().degrees(), view.lat().degrees());
    assert!((ra - 250.4226).abs() < 1e-3 && (dec - 36.4602).abs() < 1e-3, "{ra} {dec}");
    assert!(harness.state().view.fov.degrees() < 1.0, "{}", harness.state().view.fov.degrees());
    let galex = &harness.state().coverages[0];
    assert!(galex.moc.sky_fraction() > 0.3 && galex.moc.sky_fraction() < 0.9, "{}", galex.moc.sky_fraction());
    harness.run_steps(2);
    harness.render().expect("a frame with MOCs renders");

    // A light curve has nothing to place on the sky: the panel says so.
    let eve = skyglass_test_support::shared_file("timeseries/sunpy/eve_l1_esp_2011046_00_truncated.fits");
    harness.state_mut().open_table(&eve.to_string_lossy());
    step_until(&mut harness, "the EVE file", |app| app.add_table_error.is_some());
    harness.get_by_label_contains("has no position columns");
    // A file that is not there either.
    harness.state_mut().open_table("/nonexistent/table.vot");
    step_until(&mut harness, "the missing file", |app| {
        app.add_table_error.as_deref().is_some_and(|e| e.contains("/nonexistent/table.vot"))
    });
    assert_eq!(harness.state().catalogues.len(), 1);
}

/// The overview counts what the archive holds in a field of Cassiopeia (the ObsCore sample's
/// HST, HLA and GALEX observations, the catalogues' stars), per collection; a click on a
/// collection loads its footprints.
#[test]
fn the_overview_counts_the_view_and_loads_footprints() {
    let data = std::env::temp_dir().join(format!("skyglass-overview-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (url, runtime) = archive_with_samples(&data);
    let mut harness = harness();
    wait_for_the_sky(&mut harness);
    harness.state_mut().overview.add_archive(&url);
    harness.state_mut().view.go_to_icrs(skyglass_sky::LonLat::from_degrees(23.1, 60.64).unwrap());
    harness.state_mut().view.fov = skyglass_sky::Angle::from_degrees(3.0);
    harness.get_by_label("Overview").click();
    step_until(&mut harness, "the counts", |app| {
        app.overview.pending == 0 && app.overview.counts.iter().any(|c| c.label() == "HLA")
    });
    let counts = &harness.state().overview.counts;
    let count_of = |label: &str| counts.iter().find(|c| c.label() == label).map(|c| c.count);
    // The ObsCore sample's observations there, all within half a degree.
    assert_eq!(count_of("HLA"), Some(14));
    assert_eq!(count_of("HST"), Some(4));
    assert_eq!(count_of("GALEX"), Some(1));
    assert!(count_of("catalogs.hipparcos").is_some_and(|n| n > 5), "{counts:?}");
    assert_eq!(super::overview::regime(counts.iter().find(|c| c.label() == "HST").unwrap().wavelengths).0, "optical");
    // Bars are sorted by count, and a click loads the footprints of that collection.
    harness.get_by_label_contains("14 observations (optical)").click();
    step_until(&mut harness, "the HLA footprints", |app| !app.catalogues.is_empty());
    let catalogue = &harness.state().catalogues[0];
    assert_eq!(catalogue.rows(), 14);
    assert_eq!(catalogue.footprints.len(), 14, "every HLA row has its s_region drawn");
    // A click inside a footprint, away from its centre, selects its row.
    let (row, point) = {
        let catalogue = &harness.state().catalogues[0];
        let (row, footprint) = &catalogue.footprints[0];
        let skyglass_sky::Shape::Polygon(vertices) = &footprint.shapes[0] else {
            panic!("HLA footprints are polygons")
        };
        let centre = skyglass_sky::LonLat::from_degrees(catalogue.ra[*row], catalogue.dec[*row]).unwrap();
        let (c, v) = (centre.to_vec3(), vertices[0].to_vec3());
        let towards = skyglass_sky::Vec3::new(c.x * 0.3 + v.x * 0.7, c.y * 0.3 + v.y * 0.7, c.z * 0.3 + v.z * 0.7);
        (*row, skyglass_sky::LonLat::from_vec3(towards))
    };
    let centre = skyglass_sky::LonLat::from_degrees(
        harness.state().catalogues[0].ra[row],
        harness.state().catalogues[0].dec[row],
    )
    .unwrap();
    harness.state_mut().view.go_to_icrs(centre);
    harness.state_mut().view.fov = skyglass_sky::Angle::from_degrees(0.15);
    harness.run_steps(3);
    let camera = harness.state().last_camera.clone().unwrap();
    let rect = harness.state().sky_rect.unwrap();
    let on_screen = camera.sky_to_screen(skyglass_sky::Frame::Icrs.convert(camera.frame(), point)).unwrap();
    let at = rect.min + egui::vec2(on_screen.x as f32, on_screen.y as f32);
    assert!(at.distance(rect.center()) > 20.0, "the click is away from the centre marker");
    harness.hover_at(at);
    harness.step();
    harness.drag_at(at);
    harness.step();
    harness.drop_at(at);
    harness.run_steps(3);
    let catalogue = &harness.state().catalogues[0];
    let selected = catalogue.selected.expect("a footprint was selected");
    let footprint = &catalogue.footprints.iter().find(|(r, _)| *r == selected).unwrap().1;
    assert!(footprint.contains(point));

    // Moving the view asks again.
    harness.state_mut().view.go_to_icrs(skyglass_sky::LonLat::from_degrees(83.8, -5.4).unwrap());
    step_until(&mut harness, "the counts at Orion", |app| {
        app.overview.pending == 0 && !app.overview.counts.iter().any(|c| c.label() == "HLA")
    });
    drop(harness);
    drop(runtime);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_user_logs_in_from_the_query_panel_and_reads_their_table() {
    let data = std::env::temp_dir().join(format!("skyglass-query-login-gui-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    // alice and a table of hers (a Gaia DR3 source as ESA's archive answered it).
    let (root, _runtime) = serve_archive(&data, async |archive| {
        archive.ensure_samples().await.unwrap();
        archive.add_user("alice", "alice password").unwrap();
        let gaia = skyglass_test_support::shared_data().join("votable/astroquery/esa/1714556098855O-result.vot");
        let table = skyglass_archive::user_tables::read_upload(std::fs::read(gaia).unwrap(), None).unwrap();
        archive.upload_table("alice", "star", &table, "", None).await.unwrap();
    });
    let url = format!("{root}/tap");
    let mut harness = query_panel_on(&url);
    assert!(harness.query_by_label("user_alice.star").is_none(), "anonymous sees no user tables");

    // A wrong password is said so, in the panel.
    harness.state_mut().query.login_user = "alice".into();
    harness.get_by_role(Role::PasswordInput).click();
    harness.step();
    harness.get_by_role(Role::PasswordInput).type_text("not her password");
    harness.step();
    harness.get_by_label("Log in").click();
    step_until(&mut harness, "the refusal", |app| app.query.login_problem.is_some());
    assert!(harness.state().query.login_problem.as_deref().unwrap().contains("wrong user name or password"));
    if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
        let image = harness.render().expect("a frame renders");
        image.save(std::env::temp_dir().join("skyglass-app-login-refused.png")).expect("saved");
    }

    harness.get_by_role(Role::PasswordInput).click();
    harness.step();
    harness.get_by_role(Role::PasswordInput).type_text("alice password");
    harness.step();
    harness.get_by_label("Log in").click();
    step_until(&mut harness, "the login", |app| app.query.login.is_some());
    harness.get_by_label("logged in as alice");
    // Her table joins the list, and a query on it lands in the table view.
    step_until(&mut harness, "her table in the list", |app| {
        app.query.tables().is_some_and(|t| t.iter().any(|t| t.name == "user_alice.star"))
    });
    harness.get_by_label("user_alice.star");
    run_adql(&mut harness, "SELECT source_id, ra, dec FROM user_alice.star");
    step_until(&mut harness, "the query", finished);
    assert!(
        matches!(last_job(harness.state()), Some(JobState::Done { rows: 1, .. })),
        "{:?}",
        last_job(harness.state())
    );
    harness.run_steps(2);
    if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
        let image = harness.render().expect("a frame renders");
        image.save(std::env::temp_dir().join("skyglass-app-login.png")).expect("saved");
    }

    // Hipparcos stars loaded from a query are kept as a table of hers, which joins the list.
    run_adql(&mut harness, "SELECT TOP 25 hip, ra, dec, hpmag FROM catalogs.hipparcos ORDER BY hpmag");
    step_until(&mut harness, "the second query", |app| finished(app) && app.catalogues.len() == 2);
    harness.state_mut().catalogues.remove(0);
    harness.state_mut().catalogues[0].name = "Bright stars".into();
    harness.step();
    harness.get_by_label("keep").click();
    step_until(&mut harness, "the table kept", |app| app.query.kept.is_some());
    assert!(
        matches!(&harness.state().query.kept, Some(Ok(message)) if message.contains("user_alice.bright_stars (25 rows)")),
        "{:?}",
        harness.state().query.kept
    );
    step_until(&mut harness, "the kept table in the list", |app| {
        app.query.tables().is_some_and(|t| t.iter().any(|t| t.name == "user_alice.bright_stars"))
    });
    // Kept again under the same name, it is refused with the reason, and nothing is lost.
    harness.get_by_label("keep").click();
    step_until(&mut harness, "the refusal", |app| app.query.kept.is_some());
    assert!(
        matches!(&harness.state().query.kept, Some(Err(problem)) if problem.contains("already")),
        "{:?}",
        harness.state().query.kept
    );
    if std::env::var_os("SKYGLASS_SAVE_RENDERS").is_some() {
        harness.run_steps(2);
        let image = harness.render().expect("a frame renders");
        image.save(std::env::temp_dir().join("skyglass-app-keep.png")).expect("saved");
    }

    // Logged out, it is gone from the list again.
    harness.get_by_label("Log out").click();
    step_until(&mut harness, "the anonymous list", |app| {
        app.query.login.is_none() && app.query.tables().is_some_and(|t| !t.is_empty())
    });
    let tables = harness.state().query.tables().unwrap_or_default();
    assert!(tables.iter().all(|t| t.name != "user_alice.star"), "her table is still listed");
    assert!(harness.query_by_label("keep").is_none(), "nothing to keep without a login");
    drop(harness);
    let _ = std::fs::remove_dir_all(&data);
}

/// Text as users type it from every script and keyboard: each string is typed after a word
/// into the ADQL editor (where completion looks at the word being typed) and into the
/// go-to box, and the app goes on. Regression: `°` after a word panicked the editor. The
/// symbols astronomers use are drawn (the harness panics on a missing glyph); then, for text
/// from anywhere in Unicode, a missing glyph is a box, as it is in the app.
#[test]
fn any_unicode_typed_into_the_editor_and_the_go_to_box_is_taken() {
    use proptest::strategy::{Strategy, ValueTree};
    let data = std::env::temp_dir().join(format!("skyglass-query-unicode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let (url, runtime) = archive_with_samples(&data);
    let mut harness = query_panel_on(&url);
    let drawn = ["SELECT ra°", "hip′″", "α Cen", "ра", "e\u{301}", "שלום ra", "'ü", "catalogs.hip°", "→ ± ≤ Å"];
    for text in drawn {
        type_everywhere(&mut harness, text);
    }
    harness.ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Tofu);
    let mut anywhere: Vec<String> = vec!["dec 𝔸𝔹".into(), "👩\u{200d}🔬".into(), "東京 ra".into()];
    // Strings from anywhere in Unicode, the same ones each run.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let any_text = proptest::string::string_regex("\\PC{1,12}").unwrap();
    for _ in 0..16 {
        anywhere.push(any_text.new_tree(&mut runner).unwrap().current());
    }
    for text in &anywhere {
        type_everywhere(&mut harness, text);
    }
    drop(runtime);
    let _ = std::fs::remove_dir_all(&data);
}

/// Types `text` after a word in the ADQL editor, then into the go-to box with Enter.
fn type_everywhere(harness: &mut Harness<'static, SkyglassApp>, text: &str) {
    type_into_editor(harness, "SELECT hi", text);
    harness.step();
    assert!(harness.state().query.adql.ends_with(text), "{text:?} was not kept");
    go_to(harness, text);
}

/// Types `text` into the ADQL editor after `before`, as a user clicking into it would.
fn type_into_editor(harness: &mut Harness<'static, SkyglassApp>, before: &str, text: &str) {
    harness.state_mut().query.adql = before.to_owned();
    harness.step();
    harness.get_by_role(Role::MultilineTextInput).click();
    harness.step();
    harness.get_by_role(Role::MultilineTextInput).type_text(text);
    harness.step();
}

//! `skyglass xmatch`: crossmatches equal to STILTS and astropy, in memory and in partitions.

use super::*;

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

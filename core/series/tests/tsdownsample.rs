#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Our LTTB and MinMaxLTTB against tsdownsample's, index for index, on random series
//! (evenly and unevenly sampled, f64 and f32 values, integer and float times) and on a real
//! one: the GOES-15 X-ray fluxes of 2011-06-07 (both channels, 42,177 points).

use skyglass_series::{Abscissa, Ordinate, lttb, minmaxlttb, minmaxlttb_parallel};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Series and tsdownsample's picks, written by Python as raw little-endian arrays.
const SCRIPT: &str = r#"
import sys
import numpy as np
from astropy.io import fits
from tsdownsample import LTTBDownsampler, MinMaxLTTBDownsampler
out = sys.argv[1]
goes = sys.argv[2]
rng = np.random.default_rng(2024)
n = 200_003
series = {
    "even_i64_f64": (np.arange(n, dtype=np.int64) * 1000, rng.normal(size=n)),
    "even_f64_f32": (np.arange(n, dtype=np.float64) * 0.25, rng.normal(size=n).astype(np.float32)),
    "uneven_f64_f64": (np.cumsum(rng.exponential(1.0, n) ** 3), np.cumsum(rng.normal(size=n))),
}
with fits.open(goes) as f:
    time = f[2].data["TIME"][0].astype(np.float64)
    flux = f[2].data["FLUX"][0].astype(np.float32)
series["goes_short"] = (time, np.ascontiguousarray(flux[:, 0]))
series["goes_long"] = (time, np.ascontiguousarray(flux[:, 1]))
for name, (x, y) in series.items():
    x.astype(x.dtype.newbyteorder("<")).tofile(f"{out}/{name}.x")
    y.astype(y.dtype.newbyteorder("<")).tofile(f"{out}/{name}.y")
    for n_out in (500, 2000):
        LTTBDownsampler().downsample(x, y, n_out=n_out).astype("<u8").tofile(f"{out}/{name}.lttb{n_out}")
        MinMaxLTTBDownsampler().downsample(x, y, n_out=n_out, minmax_ratio=4).astype("<u8").tofile(f"{out}/{name}.minmax{n_out}")
"#;

fn read<T>(path: &Path, width: usize, parse: impl Fn(&[u8]) -> T) -> Vec<T> {
    std::fs::read(path).unwrap().chunks_exact(width).map(parse).collect()
}

fn indices(path: &Path) -> Vec<usize> {
    read(path, 8, |b| u64::from_le_bytes(b.try_into().unwrap()) as usize)
}

fn compare<X: Abscissa, Y: Ordinate>(dir: &Path, name: &str, x: &[X], y: &[Y])
where
    for<'a> &'a [Y]: argminmax::ArgMinMax,
{
    for n_out in [500, 2000] {
        let theirs = indices(&dir.join(format!("{name}.lttb{n_out}")));
        assert_eq!(lttb(x, y, n_out).unwrap(), theirs, "{name}: LTTB to {n_out}");
        let theirs = indices(&dir.join(format!("{name}.minmax{n_out}")));
        assert_eq!(minmaxlttb(x, y, n_out, 4).unwrap(), theirs, "{name}: MinMaxLTTB to {n_out}");
        assert_eq!(minmaxlttb_parallel(x, y, n_out, 4).unwrap(), theirs, "{name}: parallel MinMaxLTTB to {n_out}");
    }
}

#[test]
fn picks_equal_tsdownsample() {
    let dir = std::env::temp_dir().join(format!("skyglass-series-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let goes: PathBuf = skyglass_test_support::shared_file("timeseries/sunpy/go1520110607.fits");
    let output = Command::new("python3")
        .args(["-c", SCRIPT, dir.to_str().unwrap(), goes.to_str().unwrap()])
        .output()
        .expect("python3 runs (scripts/test.sh installs tsdownsample)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let f64s = |path: PathBuf| read(&path, 8, |b| f64::from_le_bytes(b.try_into().unwrap()));
    let f32s = |path: PathBuf| read(&path, 4, |b| f32::from_le_bytes(b.try_into().unwrap()));
    let i64s = |path: PathBuf| read(&path, 8, |b| i64::from_le_bytes(b.try_into().unwrap()));
    let file = |name: &str, axis: &str| dir.join(format!("{name}.{axis}"));

    compare(&dir, "even_i64_f64", &i64s(file("even_i64_f64", "x")), &f64s(file("even_i64_f64", "y")));
    compare(&dir, "even_f64_f32", &f64s(file("even_f64_f32", "x")), &f32s(file("even_f64_f32", "y")));
    compare(&dir, "uneven_f64_f64", &f64s(file("uneven_f64_f64", "x")), &f64s(file("uneven_f64_f64", "y")));
    for name in ["goes_short", "goes_long"] {
        compare(&dir, name, &f64s(file(name, "x")), &f32s(file(name, "y")));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Downsamples a series stored as raw little-endian f64 files (x, then y) to N points and
//! prints the seconds LTTB (one thread) and MinMaxLTTB (every core, ratio 4) take, each
//! the fastest of three runs, and their picks to two files, for tests/perf/lttb.sh:
//! `downsample_files X Y N OUT_LTTB OUT_MINMAXLTTB`; with SERIAL set, serial MinMaxLTTB too.

use std::time::Instant;

fn floats(path: &str) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).collect()
}

fn fastest(mut run: impl FnMut() -> Vec<usize>) -> (f64, Vec<usize>) {
    let mut best = f64::INFINITY;
    let mut picks = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        picks = run();
        best = best.min(start.elapsed().as_secs_f64());
    }
    (best, picks)
}

fn write(path: &str, picks: &[usize]) {
    let bytes: Vec<u8> = picks.iter().flat_map(|&i| (i as u64).to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, x, y, n_out, out_lttb, out_minmax] = args.as_slice() else {
        panic!("usage: downsample_files X Y N OUT_LTTB OUT_MINMAXLTTB");
    };
    let (x, y) = (floats(x), floats(y));
    let n_out: usize = n_out.parse().unwrap_or(2000);
    let (lttb_seconds, lttb) = fastest(|| skyglass_series::lttb(&x, &y, n_out).unwrap_or_default());
    let (minmax_seconds, minmax) =
        fastest(|| skyglass_series::minmaxlttb_parallel(&x, &y, n_out, 4).unwrap_or_default());
    if std::env::var_os("SERIAL").is_some() {
        let (serial_seconds, _) = fastest(|| skyglass_series::minmaxlttb(&x, &y, n_out, 4).unwrap_or_default());
        eprintln!("serial MinMaxLTTB {serial_seconds}");
    }
    write(out_lttb, &lttb);
    write(out_minmax, &minmax);
    println!("{lttb_seconds} {minmax_seconds}");
}

//! MinMax preselection and MinMaxLTTB.

use crate::lttb::lttb_unchecked;
use crate::{Abscissa, Ordinate, SeriesError, check, first_unsorted};
use argminmax::ArgMinMax;
use rayon::prelude::*;

/// The minimum and maximum of each of `n_out / 2` bins of equal width in x (a bin with
/// one or two points gives those; an empty one nothing), in index order: the extremes a
/// plot of that many pixel columns shows. x must ascend (checked).
pub fn minmax<X: Abscissa, Y: Ordinate>(x: &[X], y: &[Y], n_out: usize) -> Result<Vec<usize>, SeriesError>
where
    for<'a> &'a [Y]: ArgMinMax,
{
    check(x, y.len(), n_out)?;
    if let Some(i) = first_unsorted(x) {
        return Err(SeriesError::Unsorted(i));
    }
    Ok(minmax_unchecked(x, y, n_out.max(2) / 2 * 2, false))
}

/// MinMaxLTTB (Van Der Donckt et al. 2023): when the series is more than `ratio` times
/// longer than `n_out`, LTTB on the minima and maxima of `n_out × ratio / 2` bins (the first
/// and last points kept), else LTTB on everything. `ratio` is 4 in tsdownsample.
///
/// x must ascend. The bins read x only at their edges (by bisection), so a series out of
/// order is refused when its disorder shows in the points kept, not always: order is the
/// caller's to keep (tables ingested with `--time` are sorted). Whatever x holds, the
/// answer is indices in range, ascending.
pub fn minmaxlttb<X: Abscissa, Y: Ordinate>(
    x: &[X],
    y: &[Y],
    n_out: usize,
    ratio: usize,
) -> Result<Vec<usize>, SeriesError>
where
    for<'a> &'a [Y]: ArgMinMax,
{
    minmaxlttb_with(x, y, n_out, ratio, false)
}

/// [`minmaxlttb`] with the bins' minima and maxima found on every core.
pub fn minmaxlttb_parallel<X: Abscissa, Y: Ordinate>(
    x: &[X],
    y: &[Y],
    n_out: usize,
    ratio: usize,
) -> Result<Vec<usize>, SeriesError>
where
    for<'a> &'a [Y]: ArgMinMax,
{
    minmaxlttb_with(x, y, n_out, ratio, true)
}

fn minmaxlttb_with<X: Abscissa, Y: Ordinate>(
    x: &[X],
    y: &[Y],
    n_out: usize,
    ratio: usize,
    parallel: bool,
) -> Result<Vec<usize>, SeriesError>
where
    for<'a> &'a [Y]: ArgMinMax,
{
    check(x, y.len(), n_out)?;
    if ratio < 2 {
        return Err(SeriesError::BadRatio(ratio));
    }
    let n = x.len();
    if n_out == 0 || n / n_out <= ratio {
        return lttb_unchecked(x, y, n_out);
    }
    // Extremes of the inner points, then the first and last points around them.
    let inner = minmax_unchecked(&x[1..n - 1], &y[1..n - 1], n_out * ratio / 2 * 2, parallel);
    let mut kept = Vec::with_capacity(inner.len() + 2);
    kept.push(0);
    kept.extend(inner.into_iter().map(|i| i + 1));
    kept.push(n - 1);
    let kept_x: Vec<X> = kept.iter().map(|&i| x[i]).collect();
    let kept_y: Vec<Y> = kept.iter().map(|&i| y[i]).collect();
    let picked = lttb_unchecked(&kept_x, &kept_y, n_out).map_err(|error| match error {
        SeriesError::Unsorted(i) => SeriesError::Unsorted(kept[i]),
        other => other,
    })?;
    Ok(picked.into_iter().map(|i| kept[i]).collect())
}

fn minmax_unchecked<X: Abscissa, Y: Ordinate>(x: &[X], y: &[Y], n_out: usize, parallel: bool) -> Vec<usize>
where
    for<'a> &'a [Y]: ArgMinMax,
{
    if n_out >= x.len() || x.len() < 2 {
        return (0..x.len()).collect();
    }
    let bins = equal_width_bins(x, n_out / 2);
    // Up to two points per bin, in index order.
    let extremes = |bin: &Option<(usize, usize)>| -> ([usize; 2], usize) {
        match *bin {
            None => ([0, 0], 0),
            Some((start, end)) if end <= start + 2 => ([start, start + 1], end - start),
            Some((start, end)) => {
                let values: &[Y] = &y[start..end];
                let (min, max) = values.argminmax();
                ([start + min.min(max), start + min.max(max)], 2)
            }
        }
    };
    let run = |bins: &[Option<(usize, usize)>]| -> Vec<usize> {
        let mut kept = Vec::with_capacity(bins.len() * 2);
        for bin in bins {
            let (points, count) = extremes(bin);
            kept.extend_from_slice(&points[..count]);
        }
        kept
    };
    if !parallel {
        return run(&bins);
    }
    // One run of bins per core, as long series are memory-bound: more tasks only add
    // scheduling.
    let per_core = bins.len().div_ceil(rayon::current_num_threads()).max(1);
    bins.par_chunks(per_core).map(run).collect::<Vec<_>>().concat()
}

/// `count` bins of equal width in x, as index ranges (`None` for a bin with no point).
/// Bin edges are worked out as tsdownsample works them out: the step divided before it is
/// subtracted, the edge converted to the abscissa's type, and a point on an edge in the bin
/// that ends there.
fn equal_width_bins<X: Abscissa>(x: &[X], count: usize) -> Vec<Option<(usize, usize)>> {
    let last = x.len() - 1;
    let step = x[last].to_f64() / count as f64 - x[0].to_f64() / count as f64;
    let first = x[0].to_f64();
    // Points per unit of x over the whole series: where an edge should fall when the
    // series is evenly sampled. Each probe into a long series is a cache miss, so the
    // search starts from that guess rather than bisecting a bin's worth of points.
    let span = x[last].to_f64() - first;
    let rate = if span > 0.0 { last as f64 / span } else { 0.0 };
    let mut bins = Vec::with_capacity(count);
    let mut index = 0;
    for bin in 0..count {
        let start = index;
        let edge = X::from_f64(first + step * (bin + 1) as f64);
        if start > last || x[start] >= edge {
            bins.push(None);
            continue;
        }
        let guess = ((edge.to_f64() - first) * rate) as usize;
        let at = first_at_or_after(x, start, last, edge, guess.clamp(start, last));
        // A point on the edge belongs to the bin that ends there.
        index = if x[at] <= edge { at + 1 } else { at };
        bins.push(Some((start, index)));
    }
    bins
}

/// The first index in `start..last` whose x is at or after `edge`, else `last`, searched
/// outwards from `guess` (within `start..=last`) in growing strides, then by bisection.
fn first_at_or_after<X: Abscissa>(x: &[X], start: usize, last: usize, edge: X, guess: usize) -> usize {
    // Bracket the answer in low..=high: everything before low is before the edge, and
    // high is last or at or after it.
    let (mut low, mut high) = (start, last);
    let mut stride = 1;
    if guess < last && x[guess] < edge {
        low = guess + 1;
        let mut probe = low;
        while probe < last {
            if x[probe] >= edge {
                high = probe;
                break;
            }
            low = probe + 1;
            probe = (probe + stride).min(last);
            stride *= 2;
        }
    } else {
        high = guess;
        let mut probe = guess;
        while probe > start {
            probe = probe.saturating_sub(stride).max(start);
            if x[probe] < edge {
                low = probe + 1;
                break;
            }
            high = probe;
            stride *= 2;
        }
    }
    let low = low.min(high);
    low + x[low..high].partition_point(|v| *v < edge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_of_a_ramp_hold_their_ends() {
        let x: Vec<i64> = (0..100).collect();
        let y: Vec<f32> = (0..100).map(|v| v as f32).collect();
        assert_eq!(minmax(&x, &y, 10).unwrap(), vec![0, 19, 20, 39, 40, 59, 60, 79, 80, 99]);
    }

    /// The bins as a plain scan finds them, for comparing with the guided search.
    fn bins_by_scanning<X: Abscissa>(x: &[X], count: usize) -> Vec<Option<(usize, usize)>> {
        let last = x.len() - 1;
        let step = x[last].to_f64() / count as f64 - x[0].to_f64() / count as f64;
        let mut index = 0;
        let mut bins = Vec::new();
        for bin in 0..count {
            let start = index;
            let edge = X::from_f64(x[0].to_f64() + step * (bin + 1) as f64);
            if start > last || x[start] >= edge {
                bins.push(None);
                continue;
            }
            let at = (start..last).find(|&i| x[i] >= edge).unwrap_or(last);
            index = if x[at] <= edge { at + 1 } else { at };
            bins.push(Some((start, index)));
        }
        bins
    }

    #[test]
    fn guided_bins_are_the_scanned_bins() {
        // Uneven steps, repeated times, gaps and a burst: the guess is often wrong.
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        for _ in 0..40 {
            let n = 2 + (next() % 3000) as usize;
            let mut t = 0i64;
            let x: Vec<i64> = (0..n)
                .map(|_| {
                    t += match next() % 10 {
                        0 => 0,
                        1 => 500,
                        _ => (next() % 5) as i64,
                    };
                    t
                })
                .collect();
            let floats: Vec<f64> = x.iter().map(|&v| v as f64 * 0.37).collect();
            for count in [1, 2, 7, 50, 333] {
                assert_eq!(equal_width_bins(&x, count), bins_by_scanning(&x, count), "n {n} count {count}");
                assert_eq!(equal_width_bins(&floats, count), bins_by_scanning(&floats, count));
            }
        }
    }

    #[test]
    fn gaps_leave_bins_empty() {
        // A gap in the middle: x jumps by 50 after index 50.
        let x: Vec<i64> = (0..100).map(|i| if i > 50 { i + 50 } else { i }).collect();
        let y: Vec<f32> = (0..100).map(|v| v as f32).collect();
        assert_eq!(minmax(&x, &y, 10).unwrap(), vec![0, 29, 30, 50, 51, 69, 70, 99]);
        assert_eq!(crate::gaps(&x, 10.0), vec![50]);
    }

    #[test]
    fn minmaxlttb_is_lttb_on_short_series_and_parallel_changes_nothing() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(minmaxlttb(&x, &y, 4, 2).unwrap(), vec![0, 1, 5, 9]);
        let x: Vec<f64> = (0..100_000).map(|i| f64::from(i) * 0.5).collect();
        let y: Vec<f64> = (0..100_000).map(|i| (f64::from(i) * 0.001).sin() * f64::from(i % 7)).collect();
        assert_eq!(minmaxlttb(&x, &y, 500, 4).unwrap(), minmaxlttb_parallel(&x, &y, 500, 4).unwrap());
        assert_eq!(minmaxlttb(&x, &y, 500, 1), Err(SeriesError::BadRatio(1)));
    }

    #[test]
    fn series_out_of_order_never_panic() {
        // Time runs backwards, then jumps about: refused, or at worst valid indices.
        let n = 50_000;
        let backwards: Vec<f64> = (0..n).map(|i| f64::from(n - i)).collect();
        let jumbled: Vec<f64> = (0..n).map(|i| f64::from((i * 7919) % n)).collect();
        let y: Vec<f32> = (0..n).map(|i| (i % 13) as f32).collect();
        for x in [&backwards, &jumbled] {
            for found in [minmaxlttb(x, &y, 100, 4), minmaxlttb_parallel(x, &y, 100, 4), crate::lttb(x, &y, 100)] {
                match found {
                    Err(SeriesError::Unsorted(i)) => assert!(i < n as usize),
                    Err(other) => panic!("{other}"),
                    Ok(picks) => assert!(picks.iter().all(|&i| i < n as usize)),
                }
            }
            assert!(matches!(minmax(x, &y, 100), Err(SeriesError::Unsorted(_))));
        }
    }
}

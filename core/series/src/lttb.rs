//! Largest-Triangle-Three-Buckets.

use crate::{Abscissa, Ordinate, SeriesError, check, first_unsorted};

/// The indices of `n_out` points of (x, y) that keep its shape: every index when the series
/// is no longer than `n_out`. x must ascend (checked as it is read; equal values are fine).
/// NaN values are best taken out first ([`crate::finite_indices`]): a bucket averaging a
/// NaN picks nothing better than its first point.
pub fn lttb<X: Abscissa, Y: Ordinate>(x: &[X], y: &[Y], n_out: usize) -> Result<Vec<usize>, SeriesError> {
    check(x, y.len(), n_out)?;
    lttb_unchecked(x, y, n_out)
}

/// LTTB once lengths are checked; fails only on abscissas out of order.
pub(crate) fn lttb_unchecked<X: Abscissa, Y: Ordinate>(
    x: &[X],
    y: &[Y],
    n_out: usize,
) -> Result<Vec<usize>, SeriesError> {
    let n = x.len();
    if n_out >= n {
        return match first_unsorted(x) {
            Some(i) => Err(SeriesError::Unsorted(i)),
            None => Ok((0..n).collect()),
        };
    }
    // Buckets between the first and last points, of equal count (fractional boundaries).
    let every = (n - 2) as f64 / (n_out - 2) as f64;
    let mut picked = Vec::with_capacity(n_out);
    picked.push(0);
    let mut a = 0;
    // Every point is read once below, so order is checked there at no extra pass.
    let mut ascending = x[n - 2] <= x[n - 1];
    let mut previous = x[0];
    for bucket in 0..n_out - 2 {
        // The next bucket's average point.
        let next_start = (every * (bucket + 1) as f64) as usize + 1;
        let next_end = ((every * (bucket + 2) as f64) as usize + 1).min(n);
        let average_y = Y::mean(&y[next_start..next_end]);
        let average_x = (x[next_end - 1].to_f64() + x[next_start].to_f64()) / 2.0;

        // This bucket's point with the largest triangle: twice its area is
        // |d1 (y - ay) - (ax - x) d2|, written as |d1 y + d2 x - offset|.
        let start = (every * bucket as f64) as usize + 1;
        let (ax, ay) = (x[a].to_f64(), y[a].to_f64());
        let (d1, d2) = (ax - average_x, average_y - ay);
        let offset = d1 * ay + d2 * ax;
        let mut largest = -1.0;
        let mut pick = a;
        for (k, (&xi, &yi)) in x[start..next_start].iter().zip(&y[start..next_start]).enumerate() {
            let area = (d1 * yi.to_f64() + d2 * xi.to_f64() - offset).abs();
            if area > largest {
                largest = area;
                pick = start + k;
            }
            ascending &= previous <= xi;
            previous = xi;
        }
        a = pick;
        picked.push(a);
    }
    if !ascending {
        return Err(SeriesError::Unsorted(first_unsorted(x).unwrap_or(0)));
    }
    picked.push(n - 1);
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_keeps_its_ends() {
        let x: Vec<i64> = (0..10).collect();
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(lttb(&x, &y, 4).unwrap(), vec![0, 1, 5, 9]);
        assert_eq!(lttb(&x, &y, 20).unwrap(), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_spike_is_kept() {
        let x: Vec<f64> = (0..1000).map(f64::from).collect();
        let mut y = vec![0.0f32; 1000];
        y[617] = 50.0;
        let picked = lttb(&x, &y, 10).unwrap();
        assert!(picked.contains(&617), "{picked:?}");
        assert_eq!((picked[0], picked[9]), (0, 999));
    }

    #[test]
    fn bad_series_are_errors() {
        assert_eq!(lttb(&[0.0, 1.0], &[1.0f64], 3), Err(SeriesError::LengthMismatch(2, 1)));
        assert_eq!(lttb(&[0.0, 2.0, 1.0, 3.0], &[1.0f64; 4], 3), Err(SeriesError::Unsorted(1)));
        assert_eq!(lttb(&[0.0, f64::NAN, 1.0, 3.0], &[1.0f64; 4], 3), Err(SeriesError::Unsorted(0)));
        assert_eq!(lttb(&[0i64, 1, 2, 3], &[1.0f64; 4], 2), Err(SeriesError::TooFewPoints(2)));
        // Empty series, repeated timestamps, n_out above n: defined answers.
        assert_eq!(lttb::<f64, f64>(&[], &[], 100), Ok(vec![]));
        assert_eq!(lttb(&[0i64, 0, 0, 1, 1, 2], &[1.0f64, 5.0, 2.0, 3.0, 9.0, 1.0], 4).unwrap().len(), 4);
    }
}

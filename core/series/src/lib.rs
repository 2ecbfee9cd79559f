//! Downsampling for plots: the points of a series that keep its shape on screen.
//!
//! [`lttb`] is Largest-Triangle-Three-Buckets (Steinarsson 2013): the first and last points
//! kept, the rest cut into equal-count buckets, and from each bucket the point making the
//! largest triangle with the point picked before it and the next bucket's average point.
//! [`minmaxlttb`] first keeps only each bin's minimum and maximum (`n_out × ratio` points,
//! SIMD through argminmax, bins on every core), then runs LTTB on those: the same picture
//! from a fraction of the work on long series.
//!
//! Both give the indices tsdownsample gives (tests/tsdownsample.rs), including its one
//! departure from the thesis: the next bucket's average x is the middle of its first and
//! last x (the mean, for evenly sampled series), its average y the mean.

mod lttb;
mod minmax;

pub use lttb::lttb;
pub use minmax::{minmax, minmaxlttb, minmaxlttb_parallel};

/// Abscissas: times as f64 (seconds, MJD, …) or i64 (e.g. nanoseconds), ascending.
pub trait Abscissa: Copy + PartialOrd + Send + Sync {
    fn to_f64(self) -> f64;
    /// The value nearest `value` (truncated towards zero for integers).
    fn from_f64(value: f64) -> Self;
}

impl Abscissa for f64 {
    fn to_f64(self) -> f64 {
        self
    }

    fn from_f64(value: f64) -> Self {
        value
    }
}

impl Abscissa for i64 {
    fn to_f64(self) -> f64 {
        self as f64
    }

    fn from_f64(value: f64) -> Self {
        value as i64
    }
}

/// Ordinates: values as f32 or f64.
pub trait Ordinate: Copy + PartialOrd + Send + Sync {
    fn to_f64(self) -> f64;
    fn is_nan(self) -> bool;
    /// The mean of a non-empty slice.
    fn mean(values: &[Self]) -> f64;
}

impl Ordinate for f64 {
    fn to_f64(self) -> f64 {
        self
    }

    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }

    fn mean(values: &[Self]) -> f64 {
        unrolled_sum(values, |v| v) / values.len() as f64
    }
}

impl Ordinate for f32 {
    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }

    /// Summed in f64: exact for the runs of equal values flat telemetry is made of.
    fn mean(values: &[Self]) -> f64 {
        unrolled_sum(values, f64::from) / values.len() as f64
    }
}

/// A sum in eight running parts, combined as ndarray combines them (numpy-like): the
/// compiler can keep it in vector registers, where one running sum waits on each addition.
fn unrolled_sum<T: Copy>(values: &[T], to_f64: impl Fn(T) -> f64) -> f64 {
    let mut parts = [0.0f64; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (part, &value) in parts.iter_mut().zip(chunk) {
            *part += to_f64(value);
        }
    }
    let mut sum = 0.0;
    sum += parts[0] + parts[4];
    sum += parts[1] + parts[5];
    sum += parts[2] + parts[6];
    sum += parts[3] + parts[7];
    for &value in chunks.remainder() {
        sum += to_f64(value);
    }
    sum
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SeriesError {
    #[error("the series has {0} abscissas and {1} values")]
    LengthMismatch(usize, usize),
    #[error("a series is downsampled to 3 points or more, not {0}")]
    TooFewPoints(usize),
    #[error("the abscissas must ascend: point {0} is larger than the next one (or NaN)")]
    Unsorted(usize),
    #[error("the min/max ratio must be 2 or more, not {0}")]
    BadRatio(usize),
}

/// Checks what every downsampler needs before it starts: equal lengths, and room for the
/// first and last points. Whether x ascends is checked while the points are read.
pub(crate) fn check<X: Abscissa>(x: &[X], values: usize, n_out: usize) -> Result<(), SeriesError> {
    if x.len() != values {
        return Err(SeriesError::LengthMismatch(x.len(), values));
    }
    if n_out < 3 && n_out < values {
        return Err(SeriesError::TooFewPoints(n_out));
    }
    Ok(())
}

/// The first point whose successor is smaller (or NaN), if any: equal abscissas (repeated
/// timestamps) are fine.
pub(crate) fn first_unsorted<X: Abscissa>(x: &[X]) -> Option<usize> {
    use std::cmp::Ordering::{Equal, Less};
    x.windows(2).position(|pair| !matches!(pair[0].partial_cmp(&pair[1]), Some(Less | Equal)))
}

/// Where a line through the series should break: the indices `i` with
/// `x[i + 1] - x[i] > max_gap` (a gap in the data is not drawn as a slope).
pub fn gaps<X: Abscissa>(x: &[X], max_gap: f64) -> Vec<usize> {
    x.windows(2).enumerate().filter(|(_, pair)| pair[1].to_f64() - pair[0].to_f64() > max_gap).map(|(i, _)| i).collect()
}

/// The indices of the points with a value (not NaN), for series with holes: downsample
/// the values at these indices, then map the picks back through them.
pub fn finite_indices<Y: Ordinate>(y: &[Y]) -> Option<Vec<usize>> {
    y.iter().any(|v| v.is_nan()).then(|| (0..y.len()).filter(|&i| !y[i].is_nan()).collect())
}

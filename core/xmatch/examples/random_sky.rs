//! Times the kernel alone on N random positions against N near them (70% within 0.4″,
//! Gaussian, the rest elsewhere), at 1″: `cargo run --release --example random_sky -- N MODE`
//! with MODE all, best, best-a, best-b or unmatched-a.

use arrow_array::Float64Array;
use skyglass_xmatch::{Mode, Positions, crossmatch};
use std::time::Instant;

/// xorshift64*: a few lines of seeded randomness, no dependency.
struct Random(u64);

impl Random {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let mode = match args.get(2).map(String::as_str).unwrap_or("all") {
        "best" => Mode::Best,
        "best-a" => Mode::BestForA,
        "best-b" => Mode::BestForB,
        "unmatched-a" => Mode::UnmatchedA,
        _ => Mode::All,
    };
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let sky = |random: &mut Random| (random.uniform() * 360.0, (random.uniform() * 2.0 - 1.0).asin().to_degrees());
    let (mut ra_a, mut dec_a, mut ra_b, mut dec_b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let (ra, dec) = sky(&mut random);
        ra_a.push(ra);
        dec_a.push(dec);
        if random.uniform() < 0.7 {
            let jitter = 0.4 / 3600.0;
            let dec_near = (dec + random.normal() * jitter).clamp(-90.0, 90.0);
            ra_b.push((ra + random.normal() * jitter / dec_near.to_radians().cos()).rem_euclid(360.0));
            dec_b.push(dec_near);
        } else {
            let (ra, dec) = sky(&mut random);
            ra_b.push(ra);
            dec_b.push(dec);
        }
    }
    let (ra_a, dec_a) = (Float64Array::from(ra_a), Float64Array::from(dec_a));
    let (ra_b, dec_b) = (Float64Array::from(ra_b), Float64Array::from(dec_b));
    for _ in 0..3 {
        let start = Instant::now();
        let found =
            crossmatch(Positions { ra: &ra_a, dec: &dec_a }, Positions { ra: &ra_b, dec: &dec_b }, 1.0 / 3600.0, mode);
        match found {
            Ok(found) => {
                println!("{n} × {n}, {mode:?}: {} rows in {:.3} s", found.len(), start.elapsed().as_secs_f64())
            }
            Err(error) => println!("error: {error}"),
        }
    }
}

//! Random streams the simulation owns: xoshiro256** seeded through splitmix64, so the same
//! seed gives the same figures whatever the dependencies' versions, and on every machine of
//! one platform (`ln`, `exp` and `cos` are the C library's, whose last bits may differ).
//!
//! Streams are derived from (seed, replication, purpose, index): the arrivals of each
//! arrival line and each dossier's own draws (its branches, its service times, its
//! applicant's response; indexed by its arrival line and its number on it) have their own
//! stream. Two catalogues compared on the same seed therefore see
//! the same arrivals and, dossier by dossier, the same draws (common random numbers).

/// A stream of uniform draws.
#[derive(Debug, Clone)]
pub struct Stream {
    s: [u64; 4],
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a stream is for, so streams of different purposes never coincide.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Arrivals = 1,
    Dossier = 2,
}

impl Stream {
    pub fn new(seed: u64, replication: u64, purpose: Purpose, index: u64) -> Stream {
        let mut x = seed;
        for part in [replication, purpose as u64, index] {
            x = splitmix(&mut x) ^ part.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        }
        let mut s = [0; 4];
        for v in s.iter_mut() {
            *v = splitmix(&mut x);
        }
        Stream { s }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform draw in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// An exponential draw with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.uniform()).ln()
    }

    /// A standard normal draw (Box–Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Picks an index with the given weights (which sum to 1 within rounding).
    pub fn choose(&mut self, weights: &[f64]) -> usize {
        let mut u = self.uniform() * weights.iter().sum::<f64>();
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// The standard normal's 90th percentile: a lognormal's σ from its median and p90.
pub const Z90: f64 = 1.281_551_565_544_600_4;

/// How long a step takes, in hours.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Fixed(f64),
    Exponential {
        mean: f64,
    },
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    /// Sorted samples; a draw interpolates between neighbours at a uniform position.
    Empirical(Vec<f64>),
}

impl Distribution {
    pub fn lognormal(median: f64, p90: f64) -> Distribution {
        Distribution::Lognormal {
            mu: median.ln(),
            sigma: (p90.ln() - median.ln()) / Z90,
        }
    }

    pub fn draw(&self, s: &mut Stream) -> f64 {
        match self {
            Distribution::Fixed(v) => *v,
            Distribution::Exponential { mean } => s.exponential(*mean),
            Distribution::Lognormal { mu, sigma } => (mu + sigma * s.normal()).exp(),
            Distribution::Empirical(sorted) => match sorted.len() {
                0 => 0.0,
                1 => sorted[0],
                n => {
                    let pos = s.uniform() * (n - 1) as f64;
                    let i = pos.floor() as usize;
                    let f = pos - i as f64;
                    sorted[i] + f * (sorted[(i + 1).min(n - 1)] - sorted[i])
                }
            },
        }
    }

    /// The mean, for reports and checks.
    pub fn mean(&self) -> f64 {
        match self {
            Distribution::Fixed(v) => *v,
            Distribution::Exponential { mean } => *mean,
            Distribution::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Distribution::Empirical(sorted) if sorted.is_empty() => 0.0,
            Distribution::Empirical(sorted) => {
                // The mean of the piecewise-linear quantile function.
                if sorted.len() == 1 {
                    return sorted[0];
                }
                let pairs = sorted.windows(2).map(|w| (w[0] + w[1]) / 2.0);
                pairs.sum::<f64>() / (sorted.len() - 1) as f64
            }
        }
    }
}

/// Student's t quantile at 0.975 for `df` degrees of freedom: a 95% two-sided interval's
/// half-width is this times the standard error. Exact to three decimals from the table up to
/// 30, then the Cornish–Fisher expansion around the normal quantile.
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let n = df as f64;
            let g1 = (z.powi(3) + z) / 4.0;
            let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
            let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
            z + g1 / n + g2 / (n * n) + g3 / (n * n * n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_stream_and_purposes_differ() {
        let mut a = Stream::new(7, 0, Purpose::Dossier, 3);
        let mut b = Stream::new(7, 0, Purpose::Dossier, 3);
        let mut c = Stream::new(7, 0, Purpose::Arrivals, 3);
        let xs: Vec<f64> = (0..5).map(|_| a.uniform()).collect();
        let ys: Vec<f64> = (0..5).map(|_| b.uniform()).collect();
        let zs: Vec<f64> = (0..5).map(|_| c.uniform()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn draws_have_the_means_they_are_given() {
        let mut s = Stream::new(1, 0, Purpose::Dossier, 0);
        let n = 200_000;
        let mean =
            |d: &Distribution, s: &mut Stream| (0..n).map(|_| d.draw(s)).sum::<f64>() / n as f64;
        let e = Distribution::Exponential { mean: 3.0 };
        assert!((mean(&e, &mut s) - 3.0).abs() < 0.05);
        let l = Distribution::lognormal(3.0, 8.0);
        assert!((mean(&l, &mut s) - l.mean()).abs() / l.mean() < 0.02);
        let mut draws: Vec<f64> = (0..n).map(|_| l.draw(&mut s)).collect();
        draws.sort_by(f64::total_cmp);
        assert!((draws[n / 2] - 3.0).abs() < 0.05, "median {}", draws[n / 2]);
        assert!(
            (draws[n * 9 / 10] - 8.0).abs() < 0.2,
            "p90 {}",
            draws[n * 9 / 10]
        );
        let emp = Distribution::Empirical(vec![1.0, 2.0, 6.0]);
        assert!((mean(&emp, &mut s) - emp.mean()).abs() < 0.03);
        assert_eq!(emp.mean(), 2.75);
    }

    #[test]
    fn t_quantiles_meet_the_normal_for_many_replications() {
        assert_eq!(t975(9), 2.262);
        assert!((t975(60) - 2.000).abs() < 0.001);
        assert!((t975(120) - 1.980).abs() < 0.001);
        assert!(t975(100_000) - 1.96 < 0.001);
    }
}

//! Drawing record sizes from the scenario's [`SizeDist`] with the run's seeded RNG.

use crate::scenario::sizes::SizeDist;
use rand::Rng;
use rand_distr::Distribution;

impl SizeDist {
    /// Draws the next size.
    pub fn sample<R: Rng>(&self, rng: &mut R) -> u64 {
        let clamp = |v: f64, min: u64, max: u64| (v.round().max(0.0) as u64).clamp(min, max);
        match self {
            SizeDist::Fixed { value } => *value,
            SizeDist::Uniform { min, max } => rng.random_range(*min..=*max),
            SizeDist::Normal {
                sampler, min, max, ..
            } => clamp(sampler.sample(rng), *min, *max),
            SizeDist::Lognormal {
                sampler, min, max, ..
            } => clamp(sampler.sample(rng), *min, *max),
            SizeDist::Pareto {
                sampler, min, max, ..
            } => clamp(sampler.sample(rng), *min, *max),
            SizeDist::Empirical { table, index } => table[index.sample(rng)].0,
        }
    }
}

#[cfg(test)]
mod tests;

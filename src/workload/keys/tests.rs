use super::*;
use crate::scenario::keys::harmonic;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use std::collections::HashMap;

fn parse(text: &str) -> Result<KeyDist, String> {
    let t: toml::Value = toml::from_str(&format!("k = {text}")).expect("toml");
    KeyDist::from_toml(&t["k"])
}

fn counts(dist: &KeyDist, n: u64) -> HashMap<String, u64> {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut key = String::new();
    let mut counts = HashMap::new();
    for seq in 0..n {
        dist.sample_into(&mut rng, seq, &mut key);
        *counts.entry(key.clone()).or_insert(0) += 1;
    }
    counts
}

/// Pearson's chi-square statistic of observed counts against expected probabilities.
fn chi_square(observed: &HashMap<String, u64>, expected: &[(String, f64)], n: u64) -> f64 {
    expected
        .iter()
        .map(|(k, p)| {
            let e = p * n as f64;
            let o = *observed.get(k).unwrap_or(&0) as f64;
            (o - e) * (o - e) / e
        })
        .sum()
}

#[test]
fn uniform_passes_a_chi_square_test() {
    let dist = parse("{ dist = \"uniform\", count = 10 }").unwrap();
    let n = 100_000;
    let c = counts(&dist, n);
    assert_eq!(c.len(), 10);
    let expected: Vec<_> = (0..10).map(|k| (format!("k{k}"), 0.1)).collect();
    // 9 degrees of freedom: the 99.9th percentile of chi-square is 27.9
    let x2 = chi_square(&c, &expected, n);
    assert!(x2 < 27.9, "chi-square {x2}");
    assert_eq!(parse("10").unwrap(), dist);
    assert!((dist.top_share() - 0.1).abs() < 1e-12);
}

#[test]
fn zipf_follows_its_power_law() {
    let dist = parse("{ dist = \"zipf\", count = 100, exponent = 1.1 }").unwrap();
    let n = 200_000;
    let c = counts(&dist, n);
    let h = harmonic(100, 1.1);
    let expected: Vec<_> = (1..=100u64)
        .map(|r| (format!("k{}", r - 1), (r as f64).powf(-1.1) / h))
        .collect();
    // 99 degrees of freedom: the 99.9th percentile of chi-square is 148.2
    let x2 = chi_square(&c, &expected, n);
    assert!(x2 < 148.2, "chi-square {x2}");
    let top = c["k0"] as f64 / n as f64;
    assert!(
        (top - dist.top_share()).abs() < 0.01,
        "k0 share {top} vs {}",
        dist.top_share()
    );
}

#[test]
fn hot_puts_its_fraction_on_one_key() {
    let n = 100_000;
    let dist = parse("{ dist = \"hot\", fraction = 0.3, count = 10 }").unwrap();
    let c = counts(&dist, n);
    let share = c["hot"] as f64 / n as f64;
    // standard deviation 0.0014: 0.01 is seven of them
    assert!((share - 0.3).abs() < 0.01, "{share}");
    assert_eq!(c.len(), 11);
    assert!((dist.top_share() - 0.3).abs() < 1e-12);
    // edges: all, none, one other key
    assert_eq!(
        counts(&parse("{ dist = \"hot\", fraction = 1.0 }").unwrap(), 1000)["hot"],
        1000
    );
    assert!(!counts(&parse("{ dist = \"hot\", fraction = 0 }").unwrap(), 1000).contains_key("hot"));
    let one = counts(
        &parse("{ dist = \"hot\", fraction = 0.5, count = 1 }").unwrap(),
        1000,
    );
    assert_eq!(one.len(), 2);
}

#[test]
fn sequential_and_unique_follow_the_record_order() {
    let mut rng = SmallRng::seed_from_u64(1);
    let mut key = String::new();
    let seq = parse("{ dist = \"sequential\", count = 3 }").unwrap();
    let keys: Vec<String> = (0..5)
        .map(|i| {
            seq.sample_into(&mut rng, i, &mut key);
            key.clone()
        })
        .collect();
    assert_eq!(keys, ["k0", "k1", "k2", "k0", "k1"]);
    let unique = parse("{ dist = \"unique\" }").unwrap();
    unique.sample_into(&mut rng, 41, &mut key);
    assert_eq!(key, "u41");
    assert_eq!(unique.top_share(), 0.0);
    assert!(unique.max_key_len() <= 256);
    assert_eq!(
        parse("{ dist = \"uniform\", count = 1 }")
            .unwrap()
            .top_share(),
        1.0
    );
}

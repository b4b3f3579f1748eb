use super::*;
use rand::SeedableRng;
use rand::rngs::SmallRng;

fn parse(text: &str) -> Result<SizeDist, String> {
    let t: toml::Value = toml::from_str(&format!("s = {text}")).expect("toml");
    SizeDist::from_toml(&t["s"])
}

fn samples(dist: &SizeDist, n: usize) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(11);
    (0..n).map(|_| dist.sample(&mut rng) as f64).collect()
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

#[test]
fn fixed_sizes_in_all_spellings() {
    let short = parse("\"1KiB\"").unwrap();
    assert_eq!(parse("{ dist = \"fixed\", value = 1024 }").unwrap(), short);
    assert_eq!((short.min(), short.max()), (1024, 1024));
    assert!(samples(&short, 100).iter().all(|&s| s == 1024.0));
}

#[test]
fn uniform_moments() {
    let d = parse("{ dist = \"uniform\", min = 100, max = 300 }").unwrap();
    let v = samples(&d, 100_000);
    let (mean, sd) = mean_sd(&v);
    // mean 200, sd 200/sqrt(12) = 57.7; the mean's standard error is 0.18
    assert!((mean - 200.0).abs() < 1.0, "{mean}");
    assert!((sd - 57.7).abs() < 1.0, "{sd}");
    assert!(v.iter().all(|&s| (100.0..=300.0).contains(&s)));
    let one = parse("{ dist = \"uniform\", min = 64, max = 64 }").unwrap();
    assert!(
        samples(&one, 100).iter().all(|&s| s == 64.0),
        "min = max gives one size"
    );
}

#[test]
fn normal_moments_and_clamps() {
    let d = parse("{ dist = \"normal\", mean = \"1KiB\", stddev = 100 }").unwrap();
    let (mean, sd) = mean_sd(&samples(&d, 100_000));
    assert!((mean - 1024.0).abs() < 2.0, "{mean}");
    assert!((sd - 100.0).abs() < 2.0, "{sd}");
    let clamped =
        parse("{ dist = \"normal\", mean = 1000, stddev = 500, min = 900, max = 1100 }").unwrap();
    let v = samples(&clamped, 10_000);
    assert!(v.iter().all(|&s| (900.0..=1100.0).contains(&s)));
    assert!(v.contains(&900.0) && v.contains(&1100.0));
}

#[test]
fn lognormal_median_and_spread() {
    let d = parse("{ dist = \"lognormal\", median = \"1KiB\", sigma = 0.5 }").unwrap();
    let v = samples(&d, 100_000);
    let m = median(&v);
    assert!((m - 1024.0).abs() / 1024.0 < 0.02, "median {m}");
    // the log of a log-normal is normal with sd sigma
    let logs: Vec<f64> = v.iter().map(|x| x.ln()).collect();
    let (_, sd) = mean_sd(&logs);
    assert!((sd - 0.5).abs() < 0.01, "{sd}");
}

#[test]
fn pareto_has_its_floor_and_mean() {
    let d = parse("{ dist = \"pareto\", scale = 100, shape = 3 }").unwrap();
    let v = samples(&d, 200_000);
    assert!(v.iter().all(|&s| s >= 100.0));
    // mean = shape * scale / (shape - 1) = 150
    let (mean, _) = mean_sd(&v);
    assert!((mean - 150.0).abs() < 2.0, "{mean}");
}

#[test]
fn empirical_table_weights() {
    let d = parse("{ dist = \"empirical\", table = [[\"100B\", 3], [\"10KiB\", 1], [50, 0]] }")
        .unwrap();
    let v = samples(&d, 40_000);
    let small = v.iter().filter(|&&s| s == 100.0).count() as f64 / v.len() as f64;
    // expected 0.75, standard deviation 0.002
    assert!((small - 0.75).abs() < 0.01, "{small}");
    assert!(
        v.iter().all(|&s| s == 100.0 || s == 10240.0),
        "a zero weight is never drawn"
    );
    assert_eq!((d.min(), d.max()), (100, 10240));
}

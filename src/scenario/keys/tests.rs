use super::*;

fn parse(text: &str) -> Result<KeyDist, String> {
    let t: toml::Value = toml::from_str(&format!("k = {text}")).expect("toml");
    KeyDist::from_toml(&t["k"])
}

#[test]
fn harmonic_numbers_match_known_values() {
    assert!((harmonic(1, 2.0) - 1.0).abs() < 1e-12);
    assert!((harmonic(4, 1.0) - 25.0 / 12.0).abs() < 1e-12);
    // H(n, 2) -> pi^2 / 6; the integral tail keeps a 10^7-term sum accurate
    assert!((harmonic(10_000_000, 2.0) - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-6);
}

#[test]
fn bad_parameters_are_explained() {
    let err = parse("{ dist = \"unifrom\" }").unwrap_err();
    assert!(err.contains("did you mean `uniform`"), "{err}");
    assert!(parse("0").is_err());
    assert!(
        parse("{ dist = \"zipf\", exponent = 0 }")
            .unwrap_err()
            .contains("greater than 0")
    );
    assert!(parse("{ dist = \"zipf\", exponent = -1 }").is_err());
    assert!(
        parse("{ dist = \"hot\", fraction = 1.5 }")
            .unwrap_err()
            .contains("from 0 to 1")
    );
    assert!(
        parse("{ dist = \"hot\" }")
            .unwrap_err()
            .contains("needs `fraction`")
    );
    assert!(
        parse("{ dist = \"unique\", count = 3 }")
            .unwrap_err()
            .contains("unknown field `count`")
    );
}

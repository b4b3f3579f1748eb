use super::*;

fn parse(text: &str) -> Result<SizeDist, String> {
    let t: toml::Value = toml::from_str(&format!("s = {text}")).expect("toml");
    SizeDist::from_toml(&t["s"])
}

#[test]
fn bad_parameters_are_explained() {
    assert!(
        parse("{ dist = \"uniform\", min = 300, max = 100 }")
            .unwrap_err()
            .contains("swap them")
    );
    assert!(
        parse("{ dist = \"lognormal\", median = 100, sigma = 0 }")
            .unwrap_err()
            .contains("greater than 0")
    );
    assert!(
        parse("{ dist = \"pareto\", scale = 100 }")
            .unwrap_err()
            .contains("missing `shape`")
    );
    assert!(
        parse("{ dist = \"empirical\", table = [] }")
            .unwrap_err()
            .contains("at least one row")
    );
    assert!(
        parse("{ dist = \"empirical\", table = [[1]] }")
            .unwrap_err()
            .contains("row 1")
    );
    let err = parse("{ dist = \"fixed\", vlaue = 1 }").unwrap_err();
    assert!(err.contains("`vlaue`") && err.contains("`value`"), "{err}");
    assert!(
        parse("{ dist = \"lognormale\" }")
            .unwrap_err()
            .contains("did you mean `lognormal`")
    );
}

#[test]
fn weights_that_overflow_are_rejected() {
    let err = parse("{ dist = \"empirical\", table = [[100, 1e308], [200, 1e308]] }").unwrap_err();
    assert!(err.contains("scale them down"), "{err}");
}

//! The precision of the floats written to run.json, the `--json` summary and comparison.csv: what
//! the measurement resolves, so that a file says `25.391`, not `25.391000000000002`. The summary
//! types name one of these per float field with `#[serde(serialize_with = ...)]`; reading a file
//! back takes the numbers as they are.

use serde::Serializer;

/// `x` rounded to `decimals` places (half away from zero); non-finite values unchanged, and no
/// `-0`.
pub fn to(x: f64, decimals: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(decimals);
    let r = (x * scale).round() / scale;
    // -0.0 and a value too large to scale come back as themselves
    if r == 0.0 {
        0.0
    } else if r.is_finite() {
        r
    } else {
        x
    }
}

fn rounded<S: Serializer>(x: f64, decimals: i32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(to(x, decimals))
}

/// Seconds: to the millisecond.
pub fn seconds<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    rounded(*x, 3, s)
}

/// Milliseconds: to the microsecond, the histograms' resolution.
pub fn millis<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    rounded(*x, 3, s)
}

/// Percentages: two decimals.
pub fn percent<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    rounded(*x, 2, s)
}

/// Small percentages (throttled attempts), where one in 100,000 still shows: three decimals.
pub fn percent_fine<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    rounded(*x, 3, s)
}

/// Rates (records/s, bytes/s) and averages of counts: one decimal.
pub fn rate<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    rounded(*x, 1, s)
}

#[cfg(test)]
mod tests {
    use super::to;
    use crate::report::RunSummary;
    use crate::report::charts::tests::sample;

    #[test]
    fn rounding_keeps_what_is_resolved_and_nothing_else() {
        assert_eq!(to(25.391000000000002, 3), 25.391);
        assert_eq!(to(0.0004, 3), 0.0);
        assert_eq!(to(-0.0004, 3).to_string(), "0");
        assert_eq!(to(2995.6666, 1), 2995.7);
        assert!(to(f64::NAN, 3).is_nan());
        assert_eq!(to(f64::INFINITY, 1), f64::INFINITY);
        assert_eq!(to(1e300, 3), 1e300);
    }

    /// Float noise in the summary comes out of the serializer rounded, field by field at its
    /// unit's precision, in run.json's and `--json`'s document alike.
    #[test]
    fn float_noise_serializes_rounded() {
        let mut summary = sample(&["put_records"], 2).summary;
        summary.elapsed_s = 35.051 + 2e-12;
        let v = &mut summary.variants[0];
        v.elapsed_s = 35.0500000001;
        let p = &mut v.phases[1];
        p.put.p99_ms = 25.391000000000002;
        p.e2e.mean_ms = 115.83912345;
        p.duration_s = 6.000000000000001;
        p.achieved_rps = 299.40000000000003;
        p.achieved_pct = 99.80000000000001;
        p.throttled_pct = 0.0123456;
        let s = &mut v.per_shard[0];
        s.records_per_s = 150.04999;
        s.share_pct = 33.333333333333336;
        let text = serde_json::to_string(&summary).expect("json");
        for noise in [
            "35.051000",
            "35.0500",
            "25.391000",
            "6.000000",
            "299.4000",
            "99.8000",
            "150.04",
            "33.3333",
            "0.01234",
            "115.839123",
        ] {
            assert!(!text.contains(noise), "{noise} in the summary");
        }
        let json: serde_json::Value = serde_json::from_str(&text).expect("json");
        let phase = &json["variants"][0]["phases"][1];
        assert_eq!(json["elapsed_s"], 35.051);
        assert_eq!(json["variants"][0]["elapsed_s"], 35.05);
        assert_eq!(phase["put"]["p99_ms"], 25.391);
        assert_eq!(phase["e2e"]["mean_ms"], 115.839);
        assert_eq!(phase["duration_s"], 6.0);
        assert_eq!(phase["achieved_rps"], 299.4);
        assert_eq!(phase["achieved_pct"], 99.8);
        assert_eq!(phase["throttled_pct"], 0.012);
        let shard = &json["variants"][0]["per_shard"][0];
        assert_eq!(shard["records_per_s"], 150.0);
        assert_eq!(shard["share_pct"], 33.33);
        // read back, the rounded numbers are what the summary holds
        let back: RunSummary = serde_json::from_value(json).expect("a summary");
        assert_eq!(back.variants[0].phases[1].put.p99_ms, 25.391);
    }

    /// The committed report's run.json is what this build writes: reading it and writing it
    /// again changes nothing.
    #[test]
    fn the_fixture_run_json_is_already_rounded() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/report-burst/run.json"
        );
        let text = std::fs::read_to_string(path).expect("the fixture");
        let mut fixture: serde_json::Value = serde_json::from_str(&text).expect("json");
        if let Some(obj) = fixture.as_object_mut() {
            obj.remove("effective_scenario");
        }
        let summary: RunSummary = serde_json::from_value(fixture.clone()).expect("a summary");
        let again = serde_json::to_value(&summary).expect("json");
        assert!(
            again == fixture,
            "the fixture's run.json is not rounded as this build writes it"
        );
    }
}

use super::*;

fn parse(text: &str) -> Result<crate::scenario::Scenario, String> {
    crate::scenario::parse(text, "f.toml", "f").map_err(|e| e.to_string())
}

const PHASE: &str = "[[phase]]\nduration = \"10s\"\nrate = 100\n";

#[test]
fn every_kind_reads_and_reads_back() {
    let text = format!(
        r#"seed = 3
[target.faults]
errors = [
  {{ operation = "PutRecords", code = "InternalFailure", rate = 0.01 }},
  {{ code = "ServiceUnavailable", rate = 0.005 }},
]
partial_failure_rate = 0.05
latency = [{{ operation = "GetRecords", dist = "lognormal", median = "5ms", sigma = 0.5 }}, "20ms"]
stall = {{ every = "10s", for = "1s" }}
reset_rate = 0.001
outage = [{{ from = "5s", to = "9s" }}, {{ from = "20s", to = "21s" }}]
{PHASE}"#
    );
    let s = parse(&text).expect("valid");
    let f = s.target.faults.clone().expect("faults");
    assert_eq!(f.seed, 3, "the scenario's seed");
    assert_eq!(f.errors.len(), 2);
    assert_eq!(f.errors[1].operation, "*");
    assert_eq!(f.errors[0].code.status(), 500);
    assert_eq!(f.partial_failure_rate, 0.05);
    assert_eq!(
        f.latency[1],
        LatencyRule {
            operation: "*".into(),
            delay: Delay::Fixed(Duration::from_millis(20))
        }
    );
    assert_eq!(f.outages.len(), 2);
    // the effective scenario reads back as the same faults
    let again = parse(&s.to_toml()).expect("the effective scenario reads back");
    assert_eq!(again.target.faults, Some(f));
}

#[test]
fn a_faults_seed_of_its_own_wins() {
    let s = parse(&format!("seed = 3\n[target.faults]\nseed = 9\n{PHASE}")).expect("valid");
    assert_eq!(s.target.faults.map(|f| f.seed), Some(9));
}

#[test]
fn faults_on_another_endpoint_are_refused() {
    for endpoint in ["aws", "http://127.0.0.1:4567"] {
        let e = parse(&format!(
            "[target]\nendpoint = \"{endpoint}\"\n[target.faults]\nreset_rate = 0.1\n{PHASE}"
        ))
        .expect_err("refused");
        assert!(
            e.contains("`target.faults`") && e.contains("kbench serve --faults"),
            "{e}"
        );
    }
}

#[test]
fn each_mistake_names_its_key_and_says_what_to_do() {
    for (table, key, says) in [
        ("reset_rate = 2", "target.faults.reset_rate", "from 0 to 1"),
        (
            "errors = [{ code = \"Boom\", rate = 0.1 }]",
            "target.faults.errors[1]",
            "\"InternalFailure\"",
        ),
        (
            "errors = [{ operation = \"PutRecord\", code = \"InternalFailure\", rate = 0.1 }, { operation = \"PutRecordz\", code = \"InternalFailure\", rate = 0.1 }]",
            "target.faults.errors[2]",
            "did you mean `PutRecord",
        ),
        (
            "errors = [{ code = \"InternalFailure\", rate = 0.7 }, { operation = \"PutRecords\", code = \"ServiceUnavailable\", rate = 0.7 }]",
            "target.faults.errors",
            "add up to",
        ),
        (
            "latency = { dist = \"gamma\", mean = \"1ms\" }",
            "target.faults.latency",
            "\"exponential\"",
        ),
        (
            "latency = { dist = \"uniform\", min = \"5ms\", max = \"1ms\" }",
            "target.faults.latency",
            "swap them",
        ),
        ("latency = \"2m\"", "target.faults.latency", "1m"),
        (
            "stall = { every = \"1s\", for = \"1s\" }",
            "target.faults.stall",
            "shorter than `every`",
        ),
        (
            "outage = [{ from = \"5s\", to = \"9s\" }, { from = \"9s\", to = \"8s\" }]",
            "target.faults.outage[2]",
            "after `from`",
        ),
        ("seed = -1", "target.faults.seed", "negative"),
    ] {
        let e = parse(&format!("[target.faults]\n{table}\n{PHASE}")).expect_err(table);
        assert!(
            e.contains(&format!("`{key}`")) && e.contains(says),
            "{table}: {e}"
        );
    }
    let e = parse(&format!("[target.faults]\nresets = 1\n{PHASE}")).expect_err("unknown key");
    assert!(e.contains("did you mean `reset_rate`"), "{e}");
}

#[test]
fn stalls_and_outages_are_windows_on_the_fault_clock() {
    let f = Faults {
        stall: Some(Stall {
            every: Duration::from_secs(10),
            length: Duration::from_secs(1),
        }),
        outages: vec![Outage {
            from: Duration::from_secs(5),
            to: Duration::from_secs(9),
        }],
        ..Faults::default()
    };
    let s = Duration::from_secs_f64;
    assert_eq!(f.stalled_until(s(0.5)), None, "no stall at the start");
    assert_eq!(f.stalled_until(s(9.9)), None);
    assert_eq!(f.stalled_until(s(10.0)), Some((s(11.0), 1)));
    assert_eq!(f.stalled_until(s(20.5)), Some((s(21.0), 2)));
    assert_eq!(f.stalled_until(s(21.0)), None);
    assert!(!f.in_outage(s(4.99)) && f.in_outage(s(5.0)) && f.in_outage(s(8.99)));
    assert!(!f.in_outage(s(9.0)));
    assert!(applies("*", "PutRecords") && applies("*", "GetRecords"));
    assert!(!applies("*", "CreateStream") && applies("CreateStream", "CreateStream"));
}

#[test]
fn the_serve_file_is_the_table_at_the_top_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("faults.toml");
    std::fs::write(
        &path,
        "reset_rate = 0.01\nstall = { every = \"5s\", for = \"1s\" }\n",
    )
    .expect("write");
    let f = load(&path).expect("valid");
    assert_eq!((f.seed, f.reset_rate), (1, 0.01));
    std::fs::write(&path, "reset_rate = 0.01\npartial_failure_rate = -1\n").expect("write");
    let e = load(&path).expect_err("invalid").to_string();
    assert!(
        e.contains("faults.toml:2:24: `partial_failure_rate`"),
        "{e}"
    );
    std::fs::write(&path, "outages = []\n").expect("write");
    let e = load(&path).expect_err("unknown key").to_string();
    assert!(e.contains("faults.toml:1:1") && e.contains("outage"), "{e}");
}

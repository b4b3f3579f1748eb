//! The kbench binary as a user meets it: messages and exit codes.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

const GOOD: &str = r#"name = "cli"
[target]
shards = 1
[producer]
batch_max_records = 100
[records]
size = "200B"
[[phase]]
duration = "1s"
rate = 50
[consumer]
drain = "10s"
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn kbench() -> Command {
    Command::cargo_bin("kbench").expect("the kbench binary")
}

/// Validating `text` fails with exit 1 and a message holding `file:line`, the key and `hint`.
fn rejects(text: &str, line: usize, key: &str, hint: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "bad.toml", text);
    let location = format!("{}:{line}:", path.display());
    kbench()
        .arg("validate")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(location))
        .stderr(predicate::str::contains(format!("`{key}`")))
        .stderr(predicate::str::contains(hint))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn unknown_key_suggests_the_nearest() {
    rejects(
        &GOOD.replace("batch_max_records", "batch_max_recods"),
        5,
        "producer.batch_max_recods",
        "did you mean `batch_max_records`?",
    );
}

#[test]
fn negative_rate() {
    rejects(
        &GOOD.replace("rate = 50", "rate = -50"),
        10,
        "phase[1].rate",
        "greater than 0",
    );
}

#[test]
fn rate_max_is_a_whole_phase_and_needs_a_rate_to_size_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let max = GOOD.replace("rate = 50", "rate = \"max\"");
    let path = write(dir.path(), "max.toml", &max);
    kbench()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("rate = \"max\""));
    rejects(
        &GOOD.replace("rate = 50", "rate = { from = 10, to = \"max\" }"),
        10,
        "phase[1].rate",
        "use rate = \"max\" for the whole phase",
    );
    rejects(
        &GOOD.replace("rate = 50", "rate = \"fast\""),
        10,
        "phase[1].rate",
        "(or \"max\" for the whole phase)",
    );
    // a closed loop sets no rate: sizing and sweeping need one given
    kbench()
        .args(["size", "--scenario"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{}: phase[1].rate",
            path.display()
        )))
        .stderr(predicate::str::contains("give --rate"));
    let with_slo = write(
        dir.path(),
        "slo.toml",
        &format!("{max}[slo]\nmax_throttled_pct = 1\n"),
    );
    kbench()
        .args(["sweep"])
        .arg(&with_slo)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("give --target-rate"));
    // --rate cannot scale what has no rate
    kbench()
        .args(["run", "--quiet", "--rate", "2x"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "every phase runs at rate = \"max\"",
        ));
    // a once-only replay cannot feed a closed loop
    std::fs::write(dir.path().join("e.ndjson"), "{\"k\": \"a\"}\n").expect("write");
    let once = write(
        dir.path(),
        "once.toml",
        "[records]\npayload = { file = \"e.ndjson\", key = \"k\", loop = false }\n[[phase]]\nduration = \"1s\"\nrate = \"max\"\n",
    );
    kbench()
        .arg("validate")
        .arg(&once)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("set loop = true"));
}

#[test]
fn batch_of_501() {
    rejects(
        &GOOD.replace("batch_max_records = 100", "batch_max_records = 501"),
        5,
        "producer.batch_max_records",
        "1 to 500",
    );
}

#[test]
fn record_over_one_mib() {
    rejects(
        &GOOD.replace("size = \"200B\"", "size = \"1MiB\""),
        7,
        "records.size",
        "1MiB record limit",
    );
}

#[test]
fn an_unknown_consumer_kind_gets_a_suggestion() {
    rejects(
        &GOOD.replace("drain = \"10s\"", "kind = \"poling\""),
        12,
        "consumer.kind",
        "unknown consumer kind `poling`, did you mean `polling`?; use \"polling\" or \"efo\"",
    );
}

/// The single `[consumer]` table of old scenarios is one polling consumer, printed in the new
/// `[[consumer]]` form, which reads back the same; enhanced fan-out goes by three spellings.
#[test]
fn the_old_consumer_table_validates_and_prints_as_the_new_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = write(dir.path(), "old.toml", GOOD);
    let out = kbench().arg("validate").arg(&old).assert().code(0);
    let printed = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        printed.contains("[[consumer]]\nname = \"polling-1\"\nkind = \"polling\""),
        "{printed}"
    );
    let again = write(
        dir.path(),
        "again.toml",
        printed.split_once('\n').map_or("", |x| x.1),
    );
    let out = kbench().arg("validate").arg(&again).assert().code(0);
    let reprinted = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(
        printed.split_once('\n').map(|x| x.1),
        reprinted.split_once('\n').map(|x| x.1)
    );
    for kind in ["efo", "enhanced_fan_out", "enhanced-fan-out"] {
        let text = GOOD.replace("drain = \"10s\"", &format!("kind = \"{kind}\""));
        let path = write(dir.path(), "efo.toml", &text);
        kbench()
            .arg("validate")
            .arg(&path)
            .assert()
            .code(0)
            .stdout(predicate::str::contains("kind = \"efo\""));
    }
}

#[test]
fn consumers_need_unique_names_and_polling_settings_only_on_polling_ones() {
    let head = GOOD.split("[consumer]").next().expect("head").to_string();
    rejects(
        &(head.clone() + "[[consumer]]\nname = \"a\"\n[[consumer]]\nname = \"a\"\n"),
        14,
        "consumer[2].name",
        "another consumer is already called `a`",
    );
    rejects(
        &(head.clone() + "[[consumer]]\nkind = \"efo\"\npoll_interval = \"1s\"\n"),
        13,
        "consumer[1].poll_interval",
        "applies to polling consumers only",
    );
    rejects(
        &(head.clone() + "[[consumer]]\nname = \"a/b\"\n"),
        12,
        "consumer[1].name",
        "is not a consumer name",
    );
    rejects(
        &(head + "[[consumer]]\nmax_records = 0\n"),
        12,
        "consumer[1].max_records",
        "use 1 to 10000 records per call",
    );
}

#[test]
fn missing_phases() {
    let text =
        GOOD.split("[[phase]]").next().expect("head").to_string() + "[consumer]\ndrain = \"1s\"\n";
    rejects(&text, 1, "phase", "add at least one [[phase]]");
}

#[test]
fn a_missing_scenario_file_is_said_once_with_its_path_and_the_advice() {
    let expected = "error: cannot read scenario file `no/such/scenario.toml`: No such file or directory (os error 2); check the path and its permissions\n";
    for command in ["validate", "run"] {
        kbench()
            .args([command, "no/such/scenario.toml"])
            .assert()
            .code(1)
            .stderr(predicate::eq(expected));
    }
}

#[test]
fn unreadable_file() {
    kbench()
        .args(["validate", "no/such/scenario.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot read scenario file `no/such/scenario.toml`",
        ));
    kbench()
        .args(["run", "no/such/scenario.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no/such/scenario.toml"));
}

#[test]
fn validate_prints_the_effective_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "good.toml", GOOD);
    kbench()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("max_attempts = 5"))
        .stdout(predicate::str::contains("stream = \"kbench-cli\""));
}

#[test]
fn shipped_scenarios_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    kbench().arg("validate").args(&files).assert().success();
}

#[test]
fn a_run_prints_json_and_an_slo_breach_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ok = write(dir.path(), "ok.toml", GOOD);
    let out = kbench()
        .args(["run", "--quiet", "--json", "--out"])
        .arg(dir.path().join("results"))
        .arg(&ok)
        .output()
        .expect("run kbench");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    assert_eq!(json["variants"][0]["accounting"]["scheduled"], 50);
    assert_eq!(json["variants"][0]["accounting"]["lost"], 0);
    // the report directory's path, under --out, holding the run's run.json
    let report_dir = Path::new(json["report_dir"].as_str().expect("a report_dir string"));
    assert!(
        report_dir.starts_with(dir.path().join("results")),
        "{report_dir:?}"
    );
    assert!(report_dir.join("run.json").is_file(), "{report_dir:?}");
    let run_json = read_json(&report_dir.join("run.json"));
    assert_eq!(run_json["variants"], json["variants"]);
    assert!(run_json.get("report_dir").is_none());

    // no PutRecords call answers within a microsecond: the put_p99 SLO is breached
    let breach = write(
        dir.path(),
        "breach.toml",
        &format!("{GOOD}[slo]\nput_p99 = \"1us\"\nmax_lost = 0\n"),
    );
    kbench()
        .args(["run", "--quiet", "--out"])
        .arg(dir.path().join("results"))
        .arg(&breach)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SLO breached: put_p99"))
        .stdout(predicate::str::contains("BREACHED"));
}

#[test]
fn ctrl_c_stops_drains_and_leaves_a_report_marked_interrupted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = write(
        dir.path(),
        "long.toml",
        &GOOD.replace("duration = \"1s\"", "duration = \"60s\""),
    );
    let results = dir.path().join("results");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kbench"))
        .args(["run", "--quiet", "--out"])
        .arg(&results)
        .arg(&long)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn kbench");
    // wait until the run has started writing its time series, then interrupt it
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let started = std::fs::read_dir(&results)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("timeseries.csv")).ok())
            .is_some_and(|t| t.lines().count() >= 3);
        if started {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let out = child.wait_with_output().expect("kbench exits");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_dir = std::fs::read_dir(&results)
        .expect("results")
        .next()
        .expect("a run dir")
        .expect("entry")
        .path();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).expect("run.json"))
            .expect("JSON");
    assert_eq!(json["status"], "interrupted");
    let a = &json["variants"][0]["accounting"];
    let n = |k: &str| a[k].as_u64().expect("a count");
    assert!(n("scheduled") < 3000, "the run stopped early");
    assert_eq!(n("scheduled"), n("acknowledged") + n("given_up"));
    assert_eq!(n("lost"), 0);
}

/// `kbench run --endpoint aws` with an environment that has no region or no credentials.
/// IMDS is disabled so nothing leaves the machine.
fn aws_run(dir: &Path, region: Option<&str>) -> assert_cmd::assert::Assert {
    let path = write(dir, "aws.toml", GOOD);
    let mut cmd = kbench();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("no-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("no-credentials"))
        .args(["run", "--quiet", "--endpoint", "aws", "--out"])
        .arg(dir.join("results"))
        .arg(&path);
    if let Some(r) = region {
        cmd.env("AWS_REGION", r);
    }
    cmd.assert()
}

#[test]
fn aws_without_a_region_says_what_to_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    aws_run(dir.path(), None)
        .code(1)
        .stderr(predicate::str::contains(
            "no AWS region found: set AWS_REGION",
        ));
}

#[test]
fn aws_without_a_region_is_one_line_without_sdk_warnings_or_colours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = aws_run(dir.path(), None).code(1).get_output().clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(
        lines[0].starts_with("error: no AWS region found: set AWS_REGION"),
        "{stderr}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");
    assert!(!stderr.contains("\x1b["), "{stderr}");
}

#[test]
fn aws_without_credentials_says_what_to_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    aws_run(dir.path(), Some("eu-west-1"))
        .code(1)
        .stderr(predicate::str::contains("no AWS credentials found"))
        .stderr(predicate::str::contains("AWS_ACCESS_KEY_ID"));
}

#[test]
fn serve_answers_kinesis_calls_on_loopback() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kbench"))
        .args(["serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn kbench serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut banner = BufReader::new(stdout);
    let mut first = String::new();
    banner.read_line(&mut first).expect("a line");
    // the AWS CLI example runs where no credentials are configured
    let mut example = String::new();
    banner.read_line(&mut example).expect("a second line");
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .expect("the URL is printed")
        .to_string();
    let expected_example = format!(
        "try: AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x aws kinesis list-streams --endpoint-url {url} --region us-east-1"
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let streams = rt.block_on(async {
        let client =
            kbench::endpoint::client::build(&kbench::scenario::Endpoint::Url(url), None, None)
                .await
                .expect("client");
        client
            .create_stream()
            .stream_name("s1")
            .shard_count(1)
            .send()
            .await
            .expect("CreateStream");
        client
            .list_streams()
            .send()
            .await
            .expect("ListStreams")
            .stream_names()
            .to_vec()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(streams, vec!["s1".to_string()]);
    assert!(example.contains(&expected_example), "{example}");
}

/// The first line `kbench serve ARGS` prints (its banner), the server then stopped.
fn serve_banner(args: &[&str]) -> String {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kbench"))
        .args(["serve", "--port", "0"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn kbench serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    let read = BufReader::new(stdout).read_line(&mut first);
    let _ = child.kill();
    let _ = child.wait();
    read.expect("a line");
    first
}

/// Issue 17: `--no-read-limits` lifts the read limits only, `--no-limits` every limit; both
/// parse on `run` too (the missing scenario file is then the only complaint).
#[test]
fn no_read_limits_parses_on_serve_and_run() {
    for (args, says) in [
        (&[][..], "shard write limits on, read limits on"),
        (
            &["--no-read-limits"][..],
            "shard write limits on, read limits off",
        ),
        (
            &["--no-limits"][..],
            "shard write limits off, read limits off",
        ),
    ] {
        let banner = serve_banner(args);
        assert!(banner.contains(says), "{args:?}: {banner}");
    }
    kbench()
        .args([
            "run",
            "no/such/scenario.toml",
            "--no-read-limits",
            "--no-limits",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: cannot read scenario file `no/such/scenario.toml`",
        ));
}

/// `--efo-session` (issue 17): a positive duration, for the embedded endpoint only.
#[test]
fn serve_takes_a_positive_efo_session_for_the_embedded_endpoint_only() {
    kbench()
        .args(["serve", "--port", "0", "--efo-session", "0s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--efo-session"))
        .stderr(predicate::str::contains("longer than 0s"));
    kbench()
        .args(["serve", "--port", "0", "--efo-session", "soon"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not a duration"));
    kbench()
        .args(["serve", "--null", "--efo-session", "2s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--efo-session"));
}

#[test]
fn bad_flags_exit_1_not_2() {
    kbench()
        .args(["run", "x.toml", "--rate", "fast"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--rate"));
    kbench()
        .args(["run", "x.toml", "--stream", "bad name!"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a valid stream name"));
    kbench()
        .args(["run", "x.toml", "--frobnicate"])
        .assert()
        .code(1);
    kbench().arg("--help").assert().code(0);
}

#[test]
fn a_once_only_replay_is_checked_again_after_rate_and_duration_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines: String = (0..100).map(|i| format!("{{\"k\": \"u{i}\"}}\n")).collect();
    std::fs::write(dir.path().join("e.ndjson"), lines).expect("write");
    let path = write(
        dir.path(),
        "once.toml",
        "[records]\npayload = { file = \"e.ndjson\", key = \"k\", loop = false }\n[[phase]]\nduration = \"1s\"\nrate = 100\n",
    );
    kbench().arg("validate").arg(&path).assert().success();
    kbench()
        .args(["run", "--quiet", "--rate", "2x"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "offer 200 records but the replay file has 100",
        ));
}

#[test]
fn the_scenario_reference_in_docs_validates_as_written() {
    let reference =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenarios.md"))
            .expect("docs/scenarios.md");
    // every ```toml block: the reference, then the faults example
    let blocks: Vec<&str> = reference
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect();
    assert!(blocks.len() >= 2, "the reference and the faults example");
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, block) in blocks.iter().enumerate() {
        let path = write(dir.path(), &format!("reference-{i}.toml"), block);
        kbench().arg("validate").arg(&path).assert().success();
    }
    assert!(blocks[1].contains("[target.faults]"));
}

#[test]
fn bad_api_variants_and_aggregation() {
    let with = |producer: &str| GOOD.replace("[producer]\n", &format!("[producer]\n{producer}\n"));
    rejects(
        &with("api = []"),
        5,
        "producer.api",
        "the list of API variants is empty",
    );
    rejects(
        &with("api = \"put_record\"\naggregation = { max_bytes = \"50KiB\" }"),
        6,
        "producer.aggregation",
        "add \"put_records_aggregated\" to `api`",
    );
    rejects(
        &with("api = \"put_records_aggregated\"\naggregation = { max_bytes = \"2MiB\" }"),
        6,
        "producer.aggregation.max_bytes",
        "exceeds the 1MiB record limit",
    );
}

/// The committed report directory (a short burst.toml run) copied to `to`.
fn fixture_report(to: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report-burst");
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(&from).expect("the fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to.to_path_buf()
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("JSON")
}

/// Multiplies `field` of `latency` (or of the phase itself when `latency` is None) in every
/// measured phase of run.json by `factor`.
fn scale(run_json: &mut serde_json::Value, latency: Option<&str>, field: &str, factor: f64) {
    for p in run_json["variants"][0]["phases"]
        .as_array_mut()
        .expect("phases")
    {
        if p["measure"] != true {
            continue;
        }
        let target = match latency {
            Some(l) => &mut p[l][field],
            None => &mut p[field],
        };
        let v = target.as_f64().expect("a number");
        *target = serde_json::json!(v * factor);
    }
}

fn compare(a: &Path, b: &Path, limits: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = kbench();
    cmd.arg("compare").arg(a).arg(b);
    for l in limits {
        cmd.args(["--max-regression", l]);
    }
    let out = cmd.output().expect("run kbench");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The row of `metric` in `phase`: "phase metric A B change limit verdict", where the phase is
/// named on its first row only.
fn row<'a>(table: &'a str, phase: &str, metric: &str) -> &'a str {
    let mut current = "";
    for line in table.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 2 {
            continue;
        }
        let m = if line.starts_with(' ') {
            words[0]
        } else {
            current = words[0];
            words[1]
        };
        if current == phase && m == metric {
            return line;
        }
    }
    panic!("no {phase} {metric} row in:\n{table}")
}

#[test]
fn compare_reports_known_deltas_on_both_sides_of_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = fixture_report(&dir.path().join("a"));
    let b = fixture_report(&dir.path().join("b"));
    let mut json = read_json(&b.join("run.json"));
    scale(&mut json, Some("put"), "p99_ms", 1.15);
    scale(&mut json, None, "achieved_rps", 0.95);
    std::fs::write(b.join("run.json"), json.to_string()).expect("write");

    // unchanged: every change is 0 and nothing regressed
    let (code, out, err) = compare(&a, &a, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(row(&out, "burst", "put_p99").contains("+0.0%"), "{out}");

    // put p99 15% worse, throughput 5% lower: the default 10% catches the first only
    let (code, out, _) = compare(&a, &b, &[]);
    assert_eq!(code, Some(2), "{out}");
    for phase in ["steady", "burst", "ramp-down", "total"] {
        let put = row(&out, phase, "put_p99");
        assert!(
            put.contains("+15.0%") && put.ends_with("REGRESSED"),
            "{put}"
        );
        let rate = row(&out, phase, "achieved_rps");
        assert!(rate.contains("-5.0%") && rate.ends_with("ok"), "{rate}");
    }
    // the warm-up phase is not measured: shown, not gated
    assert!(
        row(&out, "warmup", "put_p99").ends_with("not gated"),
        "{out}"
    );
    assert!(
        out.contains("regressed: 4 metrics beyond the limits"),
        "{out}"
    );

    // above the changes: passes; a per-metric limit overrides the general one
    assert_eq!(compare(&a, &b, &["16%"]).0, Some(0));
    assert_eq!(compare(&a, &b, &["10%", "put_p99=16%"]).0, Some(0));
    assert_eq!(compare(&a, &b, &["20%", "put_p99=14%"]).0, Some(2));
    assert_eq!(compare(&a, &b, &["10%", "put_p99=off"]).0, Some(0));
    // below both: throughput regresses too
    let (code, out, _) = compare(&a, &b, &["4%"]);
    assert_eq!(code, Some(2));
    assert!(
        row(&out, "total", "achieved_rps").ends_with("REGRESSED"),
        "{out}"
    );
}

#[test]
fn compare_ignores_latency_differences_within_the_histogram_resolution() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = fixture_report(&dir.path().join("a"));
    let b = fixture_report(&dir.path().join("b"));
    // e2e p50 is above 64 ms, where the histogram's buckets are 64 µs wide or wider: 10 µs more
    // is not a measured difference, even at a 0% limit; 1 ms more is
    let mut json = read_json(&b.join("run.json"));
    let p50 = json["variants"][0]["phases"][2]["e2e"]["p50_ms"]
        .as_f64()
        .expect("e2e p50");
    assert!(p50 > 64.0, "the fixture's e2e p50 is {p50} ms");
    json["variants"][0]["phases"][2]["e2e"]["p50_ms"] = serde_json::json!(p50 + 0.01);
    std::fs::write(b.join("run.json"), json.to_string()).expect("write");
    let (code, out, _) = compare(&a, &b, &["off", "e2e_p50=0%"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        row(&out, "burst", "e2e_p50").ends_with("ok (within resolution)"),
        "{out}"
    );
    json["variants"][0]["phases"][2]["e2e"]["p50_ms"] = serde_json::json!(p50 + 1.0);
    std::fs::write(b.join("run.json"), json.to_string()).expect("write");
    let (code, out, _) = compare(&a, &b, &["off", "e2e_p50=0%"]);
    assert_eq!(code, Some(2), "{out}");
}

#[test]
fn compare_and_report_name_the_missing_file_or_the_wrong_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = fixture_report(&dir.path().join("good"));
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let (code, _, err) = compare(&good, &empty, &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("empty` is not a kbench report directory: `run.json` is missing"),
        "{err}"
    );
    kbench()
        .arg("report")
        .arg(&empty)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`run.json` is missing"));

    let old = fixture_report(&dir.path().join("old"));
    let mut json = read_json(&old.join("run.json"));
    json["schema_version"] = serde_json::json!(1);
    std::fs::write(old.join("run.json"), json.to_string()).expect("write");
    let (code, _, err) = compare(&old, &good, &[]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("has schema_version 1") && err.contains("reads versions 2 to 4"),
        "{err}"
    );

    let partial = fixture_report(&dir.path().join("partial"));
    std::fs::remove_file(partial.join("timeseries.csv")).expect("rm");
    kbench()
        .arg("report")
        .arg(&partial)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`timeseries.csv` is missing"));

    kbench()
        .args(["compare", "a", "b", "--max-regression", "put_p98=5%"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("did you mean `put_p99`?"));
}

#[test]
fn report_rerenders_charts_html_and_summary_from_the_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = fixture_report(&dir.path().join("run"));
    kbench()
        .arg("report")
        .arg(&run)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("accounting: scheduled"))
        .stdout(predicate::str::contains("kbench burst — completed"));
    let html = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true, // <!DOCTYPE html>
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(&html, options).expect("report.html is well-formed");
    assert!(
        html.contains("<svg") && !html.contains("<script") && !html.contains("src="),
        "the charts are inline, nothing is fetched"
    );
    for chart in ["throughput", "latency", "spectrum", "shards"] {
        let svg = std::fs::read_to_string(run.join(format!("charts/put_records-{chart}.svg")))
            .expect("a chart");
        roxmltree::Document::parse(&svg).expect("the SVG is well-formed");
    }
}

#[test]
fn a_run_leaves_report_html_and_gates_on_a_baseline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = write(dir.path(), "ok.toml", GOOD);
    let results = dir.path().join("results");
    kbench()
        .args(["run", "--quiet", "--out"])
        .arg(&results)
        .arg(&scenario)
        .assert()
        .code(0);
    let base = std::fs::read_dir(&results)
        .expect("results")
        .next()
        .expect("a report directory")
        .expect("entry")
        .path();
    assert!(base.join("report.html").is_file());
    assert!(base.join("charts/put_records-throughput.svg").is_file());

    // limits off: the comparison is printed and kept, and does not gate
    kbench()
        .args(["run", "--quiet", "--max-regression", "off", "--out"])
        .arg(&results)
        .arg("--baseline")
        .arg(&base)
        .arg(&scenario)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("compared with the baseline"))
        .stdout(predicate::str::contains("no regression beyond the limits"));

    // bad baselines and limits are refused before the run
    kbench()
        .args(["run", "--quiet", "--baseline"])
        .arg(dir.path())
        .arg(&scenario)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--baseline"))
        .stderr(predicate::str::contains("`run.json` is missing"));
    let other_api = write(
        dir.path(),
        "one.toml",
        &GOOD.replace("[producer]", "[producer]\napi = \"put_record\""),
    );
    kbench()
        .args(["run", "--quiet", "--baseline"])
        .arg(&base)
        .arg(&other_api)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no API variant of this scenario"));
    kbench()
        .args(["run", "--quiet", "--max-regression", "5%"])
        .arg(&scenario)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--max-regression needs --baseline",
        ));
    assert_eq!(std::fs::read_dir(&results).expect("results").count(), 2);
}

#[test]
fn size_recommends_shards_and_says_when_none_help() {
    kbench()
        .args(["size", "--rate", "5000", "--record-size", "100B"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("recommended: 6 shards"));
    let dir = tempfile::tempdir().expect("tempdir");
    let hot = write(
        dir.path(),
        "hot.toml",
        "[records]\nsize = \"100B\"\nkeys = { dist = \"hot\", fraction = 0.5, count = 100 }\n[[phase]]\nduration = \"10s\"\nrate = 4000\n",
    );
    kbench()
        .args(["size", "--scenario"])
        .arg(&hot)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no shard count fits"))
        .stdout(predicate::str::contains("no number of shards fixes this"));
    for (flag, value, hint) in [
        ("--rate", "0", "greater than 0"),
        ("--record-size", "0B", "at least 1 byte"),
        ("--record-size", "2MiB", "at most 1 MiB"),
        ("--headroom", "1001%", "from 0% to 1000%"),
        ("--headroom", "-5%", "from 0% to 1000%"),
        ("--rate", "-100", "greater than 0"),
    ] {
        let mut args = vec![
            "size",
            "--rate",
            "100",
            "--record-size",
            "1KiB",
            "--headroom",
            "20%",
        ];
        // the flag under test replaces its good value
        let at = args.iter().position(|a| *a == flag).expect("a flag above");
        args[at + 1] = value;
        kbench()
            .args(&args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(hint));
    }
    kbench()
        .args(["size", "--record-size", "1KiB"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("give --rate"));
}

#[test]
fn sweep_rejects_bad_input_before_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    // GOOD has no [slo]: nothing for a sweep to hold
    let no_slo = write(dir.path(), "no-slo.toml", GOOD);
    kbench()
        .arg("sweep")
        .arg(&no_slo)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(no_slo.display().to_string()))
        .stderr(predicate::str::contains("no [slo]"))
        .stderr(predicate::str::contains("max_throttled_pct = 0.1"));
    let lost_only = write(
        dir.path(),
        "lost.toml",
        &format!("{GOOD}[slo]\nmax_lost = 0\n"),
    );
    kbench()
        .arg("sweep")
        .arg(&lost_only)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("only `max_lost`"));
    let with_slo = format!("{GOOD}[slo]\nmax_throttled_pct = 0.1\n");
    let two_apis = write(
        dir.path(),
        "two.toml",
        &with_slo.replace(
            "[producer]\n",
            "[producer]\napi = [\"put_record\", \"put_records\"]\n",
        ),
    );
    kbench()
        .arg("sweep")
        .arg(&two_apis)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pick it with --api"));
    kbench()
        .args(["sweep", "--api", "put_recrods"])
        .arg(&two_apis)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--api"))
        .stderr(predicate::str::contains("put_records"));
    let good = write(dir.path(), "good.toml", &with_slo);
    for (flag, value, hint) in [
        ("--shards", "0", "from 1 to"),
        ("--shards", "1,x", "from 1 to"),
        ("--target-rate", "0", "greater than 0"),
        ("--target-rate", "-5", "greater than 0"),
        ("--start", "-1", "greater than 0"),
        ("--start", "2e7", "up to 10,000,000"),
        ("--precision", "0%", "above 0%"),
        ("--precision", "80%", "at most 50%"),
        ("--measure", "0s", "longer than 0s"),
        ("--max-steps", "0", "1..=100"),
    ] {
        kbench()
            .args(["sweep", flag, value])
            .arg(&good)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(flag))
            .stderr(predicate::str::contains(hint))
            .stderr(predicate::str::contains("panicked").not());
    }
}

/// A two-step sweep through the binary: the step lines, the answer, sweep.csv, sweep.svg and
/// each step's report (the agreement checks are in tests/sweep.rs).
#[test]
fn sweep_writes_its_csv_chart_and_step_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = write(
        dir.path(),
        "s.toml",
        "name = \"tiny\"\n[records]\nsize = \"100B\"\nkeys = { dist = \"even_shards\" }\n[[phase]]\nduration = \"10s\"\nrate = 300\n[slo]\nmax_throttled_pct = 0.1\n",
    );
    let out = dir.path().join("out");
    let assert = kbench()
        .args([
            "sweep",
            "--shards",
            "1",
            "--start",
            "300",
            "--max-steps",
            "2",
            "--warmup",
            "0s",
            "--measure",
            "1s",
            "--out",
        ])
        .arg(&out)
        .arg(&scenario)
        .assert()
        // 300 and 375 records/s on one shard pass: the target (300) is sustained
        .code(0)
        .stdout(predicate::str::contains(
            "1 shard  step  1  offered       300/s",
        ))
        .stdout(predicate::str::contains(
            "1 shard  step  2  offered       375/s",
        ))
        .stdout(predicate::str::contains("for 300 records/s: 1 shard"))
        .stdout(predicate::str::contains("every rate tried passed"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let sweeps: Vec<_> = std::fs::read_dir(&out)
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(sweeps.len(), 1, "{sweeps:?}");
    let sweep = &sweeps[0];
    assert!(stdout.contains(&sweep.display().to_string()), "{stdout}");
    let csv = std::fs::read_to_string(sweep.join("sweep.csv")).expect("sweep.csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[1].starts_with("1,1,300.0,"), "{csv}");
    assert!(rows[2].starts_with("1,2,375.0,"), "{csv}");
    let svg = std::fs::read_to_string(sweep.join("sweep.svg")).expect("sweep.svg");
    assert!(svg.contains("Sweep of tiny"));
    let steps = std::fs::read_dir(sweep.join("steps"))
        .expect("steps")
        .count();
    assert_eq!(steps, 2);
}

fn stdout_of(args: &[&str]) -> String {
    let assert = kbench().args(args).assert().success();
    String::from_utf8(assert.get_output().stdout.clone()).expect("utf-8 output")
}

#[test]
fn completions_for_bash_define_the_kbench_function_and_know_the_subcommands() {
    let script = stdout_of(&["completions", "bash"]);
    assert!(script.contains("_kbench()"), "{script}");
    assert!(script.contains("complete -F _kbench"), "{script}");
    assert!(script.contains("sweep"), "{script}");
}

#[test]
fn completions_for_zsh_fish_and_powershell_are_printed() {
    for shell in ["zsh", "fish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        assert!(script.contains("sweep"), "{shell}: {script}");
    }
}

#[test]
fn completions_for_an_unknown_shell_are_refused_with_exit_1() {
    kbench()
        .args(["completions", "tcsh"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("invalid value 'tcsh'"))
        .stderr(predicate::str::contains("bash"));
}

#[test]
fn man_prints_a_roff_page_naming_the_subcommands() {
    let page = stdout_of(&["man"]);
    // roff: the first request after the quote-string preamble is the title, section 1
    let title = page
        .lines()
        .find(|line| !line.starts_with(".ie") && !line.starts_with(".el"))
        .unwrap_or("");
    assert!(title.starts_with(".TH kbench 1 "), "{page}");
    for sub in [
        "run",
        "validate",
        "compare",
        "report",
        "size",
        "sweep",
        "serve",
        "completions",
    ] {
        assert!(page.contains(&format!("kbench\\-{sub}")), "{sub}: {page}");
    }
}

#[test]
fn the_nightly_workflow_is_the_one_docs_ci_md_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("docs/ci.md")).expect("docs/ci.md");
    let workflow = std::fs::read_to_string(root.join(".github/workflows/nightly.yml"))
        .expect(".github/workflows/nightly.yml");
    let block = docs
        .split("```yaml\n")
        .map(|rest| rest.split("```").next().unwrap_or(""))
        .find(|block| block.starts_with("name: nightly benchmark"))
        .expect("the nightly workflow block in docs/ci.md");
    assert_eq!(block, workflow);
}

/// GitHub's anchor for a heading: lowercase; characters other than letters, digits, spaces, `-`
/// and `_` dropped; spaces turned into `-`.
fn github_slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Markdown text without its fenced code blocks (each line kept, emptied, so line counts hold).
fn without_fences(text: &str) -> String {
    let mut prose = String::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            prose.push_str(line);
        }
        prose.push('\n');
    }
    prose
}

/// The anchors of a markdown file's headings, as GitHub makes them (a repeated one gets `-1`,
/// `-2`, ...).
fn heading_anchors(text: &str) -> Vec<String> {
    let mut anchors = Vec::new();
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in without_fences(text).lines() {
        let level = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&level) || !line[level..].starts_with(' ') {
            continue;
        }
        let slug = github_slug(&line[level..]);
        let count = seen.entry(slug.clone()).or_insert(0);
        anchors.push(match *count {
            0 => slug,
            n => format!("{slug}-{n}"),
        });
        *count += 1;
    }
    anchors
}

/// The targets of a markdown file's inline links (`[text](target)`), outside code blocks and
/// code spans.
fn link_targets(text: &str) -> Vec<String> {
    let prose: Vec<char> = without_fences(text).chars().collect();
    // Drop code spans: a run of n backticks up to the next run of exactly n (spans may wrap).
    let mut plain = String::new();
    let mut i = 0;
    while i < prose.len() {
        if prose[i] != '`' {
            plain.push(prose[i]);
            i += 1;
            continue;
        }
        let run = prose[i..].iter().take_while(|c| **c == '`').count();
        let mut j = i + run;
        let mut end = None;
        while j < prose.len() {
            let next = prose[j..].iter().take_while(|c| **c == '`').count();
            if next == run {
                end = Some(j + next);
                break;
            }
            j += next.max(1);
        }
        match end {
            Some(end) => i = end,
            None => {
                plain.extend(&prose[i..i + run]);
                i += run;
            }
        }
    }
    plain
        .split("](")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap_or(""))
        .map(|target| target.split_whitespace().next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn every_relative_link_in_the_readme_and_docs_resolves() {
    assert_eq!(
        github_slug("The sweep: measuring what a stream sustains"),
        "the-sweep-measuring-what-a-stream-sustains"
    );
    assert_eq!(
        github_slug("Partition keys (`[records] keys`)"),
        "partition-keys-records-keys"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    assert!(docs.len() > 1, "docs/*.md: {docs:?}");
    files.extend(docs);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a markdown file");
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        for target in link_targets(&text) {
            if ["http://", "https://", "mailto:"]
                .iter()
                .any(|scheme| target.starts_with(scheme))
            {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                file.parent().expect("a folder").join(path)
            };
            if target.is_empty() || !resolved.exists() {
                broken.push(format!(
                    "{name}: ({target}): no file {}",
                    resolved.display()
                ));
                continue;
            }
            if let Some(anchor) = anchor {
                let anchors = std::fs::read_to_string(&resolved)
                    .map(|t| heading_anchors(&t))
                    .unwrap_or_default();
                if !anchors.iter().any(|a| a == anchor) {
                    broken.push(format!(
                        "{name}: ({target}): no heading with the anchor #{anchor} in {}",
                        resolved.display()
                    ));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} relative links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn decimal_sizes_validate_with_a_note_naming_file_and_key_and_binary_ones_without() {
    let dir = tempfile::tempdir().expect("tempdir");
    for size in ["1kb", "1 KB", "1k"] {
        let path = write(
            dir.path(),
            "decimal.toml",
            &GOOD.replace("\"200B\"", &format!("\"{size}\"")),
        );
        kbench()
            .arg("validate")
            .arg(&path)
            .assert()
            .success()
            .stdout(predicate::str::contains("value = \"1000B\""))
            .stderr(predicate::str::contains(format!(
                "note: {}:7:8: `records.size`: \"{size}\" was read as 1,000 bytes (decimal kB); write \"1KiB\" for 1,024\n",
                path.display()
            )));
    }
    let path = write(
        dir.path(),
        "binary.toml",
        &GOOD.replace("\"200B\"", "\"1KiB\""),
    );
    kbench()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stderr(predicate::str::contains("note:").not());
}

#[test]
fn a_peak_rate_far_below_the_scenarios_warns_and_a_factor_does_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "kb.toml", &GOOD.replace("\"200B\"", "\"1kb\""));
    // 2 records/s for the 1s phase: a short run
    let out = kbench()
        .args(["run", "--quiet", "--rate", "2", "--out"])
        .arg(dir.path().join("results"))
        .arg(&path)
        .output()
        .expect("run kbench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: --rate 2 sets the peak rate to 2 records/s, 1/25 of the scenario's 50; for twice the scenario's rates write --rate 2x\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "note: {}:7:8: `records.size`: \"1kb\" was read as 1,000 bytes",
            path.display()
        )),
        "{stderr}"
    );
    let good = write(dir.path(), "good.toml", GOOD);
    for rate in ["2x", "10"] {
        let out = kbench()
            .args(["run", "--quiet", "--rate", rate, "--out"])
            .arg(dir.path().join("results"))
            .arg(&good)
            .output()
            .expect("run kbench");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("warning:"), "--rate {rate}: {stderr}");
        assert!(!stderr.contains("note:"), "--rate {rate}: {stderr}");
    }
}

/// Every crate's features as `cargo tree` resolves them, with or without the dev-dependencies.
fn features(
    with_dev: bool,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut cmd = std::process::Command::new(env!("CARGO"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "tree",
        "--locked",
        "--offline",
        "--prefix",
        "none",
        "-f",
        "{p}|{f}",
    ]);
    if !with_dev {
        cmd.args(["-e", "no-dev"]);
    }
    let out = cmd.output().expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut crates = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        // "name v1.2.3 (proc-macro)" or "name v1.2.3 (/path)": the name and version identify it
        let package: Vec<&str> = package.split_whitespace().take(2).collect();
        let features = features.trim_end_matches(" (*)");
        crates
            .entry(package.join(" "))
            .or_insert_with(std::collections::BTreeSet::new)
            .extend(
                features
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_string),
            );
    }
    crates
}

/// Issue 15: after `cargo run --release`, `cargo test --release` recompiled about 27 crates
/// because the dev-dependencies turned on more features of crates the build shares. Every crate
/// of the build must have the same features when the tests are built too.
#[test]
fn the_build_and_the_tests_share_one_feature_set() {
    let build = features(false);
    let tests = features(true);
    assert!(
        build.len() > 100,
        "cargo tree listed {} crates",
        build.len()
    );
    let differ: Vec<String> = build
        .iter()
        .filter_map(|(package, f)| {
            let with_dev = tests.get(package)?;
            (with_dev != f).then(|| {
                let more: Vec<&String> = with_dev.difference(f).collect();
                format!("{package}: the tests add {more:?}")
            })
        })
        .collect();
    assert!(
        differ.is_empty(),
        "name these features in Cargo.toml's [dependencies]:\n{}",
        differ.join("\n")
    );
}

/// A FIFO would block `validate` until a writer came, `/dev/zero` never ends: both are refused
/// before they are opened, naming the file.
#[cfg(unix)]
#[test]
fn validate_refuses_a_fifo_or_dev_zero_as_replay_file_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("events.ndjson");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    for (file, kind) in [
        ("events.ndjson", "a FIFO (named pipe)"),
        ("/dev/zero", "a device"),
    ] {
        let path = write(
            dir.path(),
            "s.toml",
            &format!(
                "[records]\npayload = {{ file = \"{file}\", key = \"k\" }}\n[[phase]]\nduration = \"1s\"\nrate = 1\n"
            ),
        );
        kbench()
            .arg("validate")
            .arg(&path)
            .timeout(std::time::Duration::from_secs(30))
            .assert()
            .code(1)
            .stderr(predicate::str::contains(format!(
                "s.toml:2:11: `records.payload`: replay file `{}` is {kind}, not a regular file",
                dir.path().join(file).display()
            )));
    }
}

/// Validation reads the replay records the phases will send and no more: line 30 is bad, and
/// a scenario sending 20 records is valid, one sending 30 is not (naming the line).
#[test]
fn validate_reads_only_the_replay_records_the_scenario_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lines: String = (1..30).map(|i| format!("{{\"k\": \"u{i}\"}}\n")).collect();
    lines.push_str("{\"k\": oops}\n");
    std::fs::write(dir.path().join("e.ndjson"), lines).expect("write");
    let scenario = |rate: u32| {
        format!(
            "[records]\npayload = {{ file = \"e.ndjson\", key = \"k\" }}\n[[phase]]\nduration = \"1s\"\nrate = {rate}\n"
        )
    };
    let twenty = write(dir.path(), "twenty.toml", &scenario(20));
    kbench().arg("validate").arg(&twenty).assert().success();
    let thirty = write(dir.path(), "thirty.toml", &scenario(30));
    kbench()
        .arg("validate")
        .arg(&thirty)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("e.ndjson:30: not valid JSON"));
    // --rate asks for more than was checked: the run checks them before it starts
    kbench()
        .args(["run", "--quiet", "--rate", "30"])
        .arg(&twenty)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("e.ndjson:30: not valid JSON"));
}

/// `name = "../../../escaped"` wrote the report outside --out, `"a/b\nc"` made a folder with a
/// line break in its name, and a 300-byte name passed `validate` and failed at run time.
#[test]
fn a_scenario_name_cannot_escape_the_out_folder() {
    let long = format!("\"{}\"", "n".repeat(300));
    for (name, hint) in [
        ("\"../../../escaped\"", "may hold no path separator"),
        ("\"a/b\\nc\"", "\"a/b\\nc\" holds the path separator `/`"),
        ("\"tab\\there\"", "the control character \\t"),
        ("\"..\"", "may not point to its parent"),
        (
            long.as_str(),
            "the name is 300 bytes long; it names the report directory, so use at most 100 bytes",
        ),
    ] {
        rejects(
            &GOOD.replace("name = \"cli\"", &format!("name = {name}")),
            1,
            "name",
            hint,
        );
    }
    // a name that is a fine folder but not a stream name, with no stream given
    rejects(
        &GOOD.replace("name = \"cli\"", "name = \"my test\""),
        1,
        "name",
        "set `stream` under [target]",
    );
    // and `run` stops before writing anything anywhere
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = dir.path().join("a").join("b");
    std::fs::create_dir_all(&inner).expect("mkdir");
    let bad = write(
        &inner,
        "escape.toml",
        &GOOD.replace("name = \"cli\"", "name = \"../../escaped\""),
    );
    kbench()
        .args(["run", "--quiet", "--out"])
        .arg(inner.join("results"))
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`name`"))
        .stderr(predicate::str::contains("panicked").not());
    assert!(!inner.join("results").exists());
    assert!(!dir.path().join("a").join("escaped").exists());
}

/// `--rate 1e308` scheduled 18446744073709551615 records and `--rate 1e9x` four trillion: every
/// flag that changes the scenario gets the bounds of the file's key, and the error names it.
#[test]
fn the_rate_flag_cannot_bypass_the_rate_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "ok.toml", GOOD);
    let run = |flags: &[&str]| {
        kbench()
            .args(["run", "--quiet", "--out"])
            .arg(dir.path().join("results"))
            .args(flags)
            .arg(&path)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("panicked").not())
    };
    run(&["--rate", "1e308"])
        .stderr(predicate::str::contains("--rate"))
        .stderr(predicate::str::contains(
            "kbench offers at most 10000000 records per second",
        ));
    run(&["--rate", "1e9x"]).stderr(predicate::str::contains(
        "--rate 1000000000x: phase[1] `phase-1`'s rate is 50000000000; kbench offers at most 10000000 records per second; give a lower --rate",
    ));
    run(&["--duration", "1000000000000s"])
        .stderr(predicate::str::contains("--duration"))
        .stderr(predicate::str::contains("at most 30 days"));
    run(&["--duration", "1ms"]).stderr(predicate::str::contains(
        "--duration 1ms: no phase offers a record",
    ));
    run(&["--seed", "18446744073709551615"])
        .stderr(predicate::str::contains("--seed"))
        .stderr(predicate::str::contains(
            "as `seed` in a scenario file takes",
        ));
    run(&["--shards", "10001"]).stderr(predicate::str::contains("from 1 to 10000"));
    assert!(!dir.path().join("results").exists(), "nothing ran");
}

/// Issue 16: `kbench serve --faults FILE` checks the file as a scenario's [target.faults] is
/// checked, naming the place; faults are refused on a target kbench cannot fault.
#[test]
fn faults_are_checked_before_anything_is_served_or_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(
        dir.path(),
        "faults.toml",
        "reset_rate = 0.5\nstall = { every = \"1s\", for = \"2s\" }\n",
    );
    kbench()
        .args(["serve", "--port", "0", "--faults"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("faults.toml:2:9: `stall`"))
        .stderr(predicate::str::contains("shorter than `every`"));
    let faulted = write(
        dir.path(),
        "faulted.toml",
        &GOOD.replace(
            "[producer]",
            "[target.faults]\nreset_rate = 0.1\n[producer]",
        ),
    );
    kbench().arg("validate").arg(&faulted).assert().success();
    kbench()
        .args(["run", "--quiet", "--endpoint", "http://127.0.0.1:9"])
        .arg(&faulted)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "only the embedded endpoint injects",
        ));
}

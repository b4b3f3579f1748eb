use super::*;

const GOOD: &str = r#"
name = "t"
seed = 7
[target]
shards = 2
[producer]
api = "put_records"
batch_max_records = 100
linger = "10ms"
[records]
size = "1KiB"
keys = { dist = "uniform", count = 50 }
[[phase]]
name = "warm"
duration = "2s"
rate = 100
measure = false
[[phase]]
duration = "10s"
rate = { from = 100, to = 1000 }
[slo]
put_p99 = "250ms"
max_lost = 0
"#;

fn issues(text: &str) -> Vec<Issue> {
    match parse(text, "s.toml", "s") {
        Err(ScenarioError::Invalid { issues, .. }) => issues,
        other => panic!("expected validation issues, got {other:?}"),
    }
}

#[test]
fn a_good_scenario_is_fully_defaulted() {
    let s = parse(GOOD, "s.toml", "s").unwrap();
    assert_eq!(s.name, "t");
    assert_eq!(s.seed, 7);
    assert_eq!(s.target.stream, "kbench-t");
    assert_eq!(s.target.endpoint, Endpoint::Embedded);
    assert_eq!(s.producer.batch_max_records, 100);
    assert_eq!(s.producer.linger, Duration::from_millis(10));
    assert_eq!(s.producer.max_attempts, 5);
    assert_eq!(s.phase.len(), 2);
    assert!(!s.phase[0].measure);
    assert_eq!(s.phase[1].name, "phase-2");
    assert_eq!(
        s.phase[1].rate,
        Rate {
            from: 100.0,
            to: 1000.0
        }
    );
    assert_eq!(s.slo.put_p99, Some(Duration::from_millis(250)));
    assert_eq!(
        s.consumers[0].poll_interval,
        Some(Duration::from_millis(200))
    );
}

#[test]
fn the_effective_scenario_reads_back_the_same() {
    let s = parse(GOOD, "s.toml", "s").unwrap();
    let text = s.to_toml();
    let again = parse(&text, "effective.toml", "x").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.to_toml(), text);
}

#[test]
fn unknown_keys_name_the_line_and_the_nearest_key() {
    let text = GOOD.replace("batch_max_records = 100", "batch_max_record = 100");
    let i = &issues(&text)[0];
    assert_eq!((i.line, i.col), (8, 1));
    assert_eq!(i.key, "producer.batch_max_record");
    assert!(
        i.message.contains("did you mean `batch_max_records`?"),
        "{}",
        i.message
    );
}

#[test]
fn kinesis_limits_are_checked() {
    let text = GOOD.replace("batch_max_records = 100", "batch_max_records = 501");
    let i = &issues(&text)[0];
    assert_eq!(i.key, "producer.batch_max_records");
    assert_eq!(i.line, 8);
    assert!(i.message.contains("1 to 500"), "{}", i.message);

    let text = GOOD.replace("size = \"1KiB\"", "size = \"2MiB\"");
    let i = &issues(&text)[0];
    assert_eq!(i.key, "records.size");
    assert!(i.message.contains("1MiB record limit"), "{}", i.message);

    let text = GOOD.replace("size = \"1KiB\"", "size = \"10B\"");
    assert!(issues(&text)[0].message.contains("use 28B or more"));
}

#[test]
fn rates_must_be_positive_and_phases_present() {
    let text = GOOD.replace("rate = 100\n", "rate = -5\n");
    let i = &issues(&text)[0];
    assert_eq!(i.key, "phase[1].rate");
    assert_eq!(i.line, 16);
    assert!(i.message.contains("greater than 0"), "{}", i.message);

    let text = GOOD.replace("to = 1000", "to = 0");
    assert!(issues(&text)[0].message.contains("`to` is 0"));

    let no_phases = GOOD.split("[[phase]]").next().unwrap().to_string() + "[slo]\n";
    let i = &issues(&no_phases)[0];
    assert_eq!(i.key, "phase");
    assert!(i.message.contains("add at least one [[phase]]"));
}

#[test]
fn all_problems_are_reported_together() {
    let text = GOOD
        .replace("shards = 2", "shards = 0")
        .replace("linger = \"10ms\"", "linger = \"soon\"");
    let found = issues(&text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].key, "target.shards");
    assert_eq!(found[1].key, "producer.linger");
}

#[test]
fn syntax_errors_have_a_position() {
    let i = &issues("name = \"x\"\n[producer\n")[0];
    assert_eq!(i.line, 2);
}

#[test]
fn key_paths_follow_tables_and_phases() {
    let src = "a = 1\n[target]\nshards = 1\n[[phase]]\nrate = 1\n[[phase]]\nrate = 2\n";
    assert_eq!(key_at(src, 0), "a");
    assert_eq!(key_at(src, src.find("shards").unwrap()), "target.shards");
    assert_eq!(key_at(src, src.rfind("rate").unwrap()), "phase[2].rate");
}

#[test]
fn absurd_sizes_durations_and_rates_are_rejected_not_overflowed() {
    let text = GOOD.replace("size = \"1KiB\"", "size = \"18446744073709551615\"");
    assert!(issues(&text)[0].message.contains("1MiB record limit"));
    let text = GOOD.replace("duration = \"2s\"", "duration = \"300000000000y\"");
    assert!(issues(&text)[0].message.contains("at most 30 days"));
    let text = GOOD.replace("rate = 100\n", "rate = 1e300\n");
    assert!(
        issues(&text)[0]
            .message
            .contains("at most 10000000 records per second")
    );
}

#[test]
fn a_commented_table_header_still_names_the_key() {
    let text = GOOD
        .replacen("[[phase]]", "[[phase]]   # the warm-up", 1)
        .replace("rate = 100\n", "rate = 0\n");
    assert_eq!(issues(&text)[0].key, "phase[1].rate");
    assert_eq!(key_at("[[phase]]  # c\nrate = 1\n", 16), "phase[1].rate");
}

#[test]
fn consumer_slos_need_the_consumer() {
    let text = format!("{GOOD}[consumer]\nenabled = false\n");
    let found = issues(&text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "slo.max_lost");
    assert!(found[0].message.contains("needs a consumer"));
}

#[test]
fn payload_problems_name_the_payload_key() {
    let with = |payload: &str| {
        format!("[records]\npayload = {payload}\n[[phase]]\nduration = \"1s\"\nrate = 1\n")
    };
    let i = &issues(&with(r#"{ template = '{"a": {{intt 0 9}}}' }"#))[0];
    assert_eq!((i.key.as_str(), i.line), ("records.payload", 2));
    assert!(i.message.contains("did you mean `int`"), "{}", i.message);
    let i = &issues(&with(r#"{ template = '{"a": {{seq}},}' }"#))[0];
    assert!(
        i.message.contains("does not render valid JSON"),
        "{}",
        i.message
    );
    let i = &issues(&with(r#"{ template = '{"a": 1}', key = "b" }"#))[0];
    assert!(
        i.message.contains("no string or number field `b`"),
        "{}",
        i.message
    );
    let i = &issues(&with(r#"{ file = "no-such.ndjson", key = "k" }"#))[0];
    assert!(
        i.message.contains("cannot read replay file"),
        "{}",
        i.message
    );
    let i = &issues(&format!(
        "{}[records.size]\ndist = \"fixed\"\nvalue = 100\n",
        with(r#"{ template = '{"a": 1}' }"#)
    ))[0];
    assert_eq!(i.key, "records.size");
    assert!(i.message.contains("decides its own record sizes"));
}

#[test]
fn a_bad_replay_line_is_named_with_its_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("e.ndjson"),
        "{\"k\": \"a\"}\n{\"k\": oops}\n",
    )
    .expect("write");
    let file = dir.path().join("s.toml");
    let text = "[records]\npayload = { file = \"e.ndjson\", key = \"k\" }\n[[phase]]\nduration = \"1s\"\nrate = 2\n";
    let found = match parse(text, &file.display().to_string(), "s") {
        Err(ScenarioError::Invalid { issues, .. }) => issues,
        other => panic!("{other:?}"),
    };
    assert!(
        found[0].message.contains("e.ndjson:2: not valid JSON"),
        "{found:?}"
    );
    // loop = false needs enough lines for the schedule
    std::fs::write(dir.path().join("e.ndjson"), "{\"k\": \"a\"}\n").expect("write");
    let once = text
        .replace("key = \"k\" }", "key = \"k\", loop = false }")
        .replace("rate = 2", "rate = 5");
    let found = match parse(&once, &file.display().to_string(), "s") {
        Err(ScenarioError::Invalid { issues, .. }) => issues,
        other => panic!("{other:?}"),
    };
    assert!(
        found[0]
            .message
            .contains("offer 5 records but the replay file has 1"),
        "{found:?}"
    );
}

#[test]
fn template_keys_and_sizes_respect_the_kinesis_limits() {
    let with = |payload: &str| {
        format!("[records]\npayload = {payload}\n[[phase]]\nduration = \"1s\"\nrate = 1\n")
    };
    let long_key = issues(&with(
        r#"{ template = '{"user": "{{string 300}}"}', key = "user" }"#,
    ));
    assert!(
        long_key[0].message.contains("1 to 256 characters"),
        "{long_key:?}"
    );
    let empty_key = issues(&with(
        r#"{ template = '{"user": "{{string 0}}"}', key = "user" }"#,
    ));
    assert!(
        empty_key[0].message.contains("1 to 256 characters"),
        "{empty_key:?}"
    );
    let huge = "{{string 65536}}".repeat(17);
    let big = issues(&with(&format!("{{ template = '{{\"a\": \"{huge}\"}}' }}")));
    assert!(
        big[0].message.contains("above the 1MiB record limit"),
        "{big:?}"
    );
}

#[test]
fn api_takes_a_name_or_a_list_of_variants() {
    let s = parse(GOOD, "s.toml", "s").unwrap();
    assert_eq!(s.producer.apis, vec![Api::PutRecords]);
    assert_eq!(s.producer.aggregation, None);

    let list = GOOD.replace(
        "api = \"put_records\"",
        "api = [\"put_record\", \"put_records_aggregated\"]",
    );
    let s = parse(&list, "s.toml", "s").unwrap();
    assert_eq!(
        s.producer.apis,
        vec![Api::PutRecord, Api::PutRecordsAggregated]
    );
    // aggregation is defaulted to the KPL's limits when a variant aggregates
    assert_eq!(
        s.producer.aggregation,
        Some(Aggregation {
            max_bytes: 51_200,
            max_records: u32::MAX
        })
    );
    // and the effective scenario reads back as the same list
    let again = parse(&s.to_toml(), "e.toml", "e").unwrap();
    assert_eq!(again.producer.apis, s.producer.apis);
    assert_eq!(again.producer.aggregation, s.producer.aggregation);
}

#[test]
fn bad_api_lists_name_the_key_and_the_fix() {
    let with = |api: &str| GOOD.replace("api = \"put_records\"", &format!("api = {api}"));
    let one = |text: &str| {
        let mut found = issues(text);
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    };
    let empty = one(&with("[]"));
    assert_eq!(empty.key, "producer.api");
    assert!(empty.message.contains("empty"), "{}", empty.message);
    assert!(
        one(&with("[\"put_records\", \"put_records\"]"))
            .message
            .contains("listed twice")
    );
    let typo = one(&with("[\"put_record\", \"put_records_agregated\"]"));
    assert!(
        typo.message
            .contains("did you mean `put_records_aggregated`"),
        "{}",
        typo.message
    );
    assert!(one(&with("5")).message.contains("API name or a list"));
}

#[test]
fn aggregation_needs_an_aggregating_variant_and_fits_a_record() {
    let agg = |api: &str, aggregation: &str| {
        GOOD.replace(
            "api = \"put_records\"",
            &format!("api = {api}\naggregation = {aggregation}"),
        )
    };
    // put_record alone cannot aggregate
    let found = issues(&agg("\"put_record\"", "{ max_bytes = \"50KiB\" }"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "producer.aggregation");
    assert!(
        found[0].message.contains("add \"put_records_aggregated\""),
        "{}",
        found[0].message
    );
    // an aggregate is one Kinesis record: it may not exceed the 1 MiB record limit
    let found = issues(&agg(
        "\"put_records_aggregated\"",
        "{ max_bytes = \"2MiB\" }",
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "producer.aggregation.max_bytes");
    assert!(
        found[0].message.contains("1MiB record limit"),
        "{}",
        found[0].message
    );
    let found = issues(&agg("\"put_records_aggregated\"", "{ max_records = 0 }"));
    assert_eq!(found[0].key, "producer.aggregation.max_records");
    let found = issues(&agg(
        "\"put_records_aggregated\"",
        "{ max_bytes = \"10B\" }",
    ));
    assert_eq!(found[0].key, "producer.aggregation.max_bytes");
    assert!(
        found[0].message.contains("use 64B or more"),
        "{}",
        found[0].message
    );
    // a batch smaller than the default aggregate: the error names the key that was written
    let small_batch = GOOD
        .replace("api = \"put_records\"", "api = \"put_records_aggregated\"")
        .replace(
            "linger = \"10ms\"",
            "linger = \"10ms\"\nbatch_max_bytes = \"40KiB\"",
        );
    let found = issues(&small_batch);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].key, "producer.batch_max_bytes");
    assert!(found[0].line > 1, "points at the line written: {found:?}");
    let found = issues(&agg(
        "\"put_records_aggregated\"",
        "{ max_bytes = \"64KiB\", max_count = 5 }",
    ));
    assert!(
        found[0].message.contains("unknown field `max_count`"),
        "{}",
        found[0].message
    );
    let ok = parse(
        &agg(
            "[\"put_records\", \"put_records_aggregated\"]",
            "{ max_bytes = \"64KiB\", max_records = 100 }",
        ),
        "s.toml",
        "s",
    )
    .unwrap();
    assert_eq!(
        ok.producer.aggregation,
        Some(Aggregation {
            max_bytes: 65_536,
            max_records: 100
        })
    );
}

#[test]
fn phase_names_are_unique_and_not_reserved() {
    let twice = GOOD.replace("duration = \"10s\"", "name = \"warm\"\nduration = \"10s\"");
    let i = issues(&twice);
    assert_eq!(i.len(), 1, "{i:?}");
    assert_eq!(i[0].key, "phase[2].name");
    assert!(
        i[0].message.contains("already called `warm`"),
        "{}",
        i[0].message
    );
    let total = GOOD.replace("name = \"warm\"", "name = \"total\"");
    let i = issues(&total);
    assert!(
        i[0].message.contains("`total` is reserved"),
        "{}",
        i[0].message
    );
    // an unnamed phase is `phase-N`: a named one may not take that name
    let clash = GOOD.replace("name = \"warm\"", "name = \"phase-2\"");
    let i = issues(&clash);
    assert!(
        i[0].message.contains("already called `phase-2`"),
        "{}",
        i[0].message
    );
}

#[test]
fn sizes_in_decimal_units_are_accepted_with_a_note_naming_file_line_and_key() {
    let text = "[producer]\napi = \"put_records_aggregated\"\nbatch_max_bytes = \"4MB\"\naggregation = { max_bytes = \"50k\" }\n[records]\nsize = { dist = \"lognormal\", median = \"1 KB\", sigma = 0.5, max = \"64KiB\" }\n[[phase]]\nduration = \"1s\"\nrate = 10\n";
    let (s, notes) = parse_with_notes(text, "s.toml", "s").expect("valid");
    assert_eq!(s.producer.batch_max_bytes, 4_000_000);
    assert_eq!(
        notes,
        vec![
            "s.toml:3:19: `producer.batch_max_bytes`: \"4MB\" was read as 4,000,000 bytes (decimal MB); write \"4MiB\" for 4,194,304",
            "s.toml:4:29: `producer.aggregation.max_bytes`: \"50k\" was read as 50,000 bytes (decimal kB); write \"50KiB\" for 51,200",
            "s.toml:6:8: `records.size.median`: \"1 KB\" was read as 1,000 bytes (decimal kB); write \"1KiB\" for 1,024",
        ]
    );
    let table = "[records]\nsize = { dist = \"empirical\", table = [[\"100B\", 3], [\"2kb\", 1]] }\n[[phase]]\nduration = \"1s\"\nrate = 10\n";
    let (_, notes) = parse_with_notes(table, "s.toml", "s").expect("valid");
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]
            .starts_with("s.toml:2:8: `records.size.table[2][1]`: \"2kb\" was read as 2,000 bytes"),
        "{notes:?}"
    );
    // binary units, bytes and numbers: nothing to note
    let (_, notes) = parse_with_notes(GOOD, "s.toml", "s").expect("valid");
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn a_scenario_name_cannot_escape_the_out_folder() {
    let named = |name: &str| GOOD.replace("name = \"t\"", &format!("name = {name:?}"));
    for (name, hint) in [
        ("../../../escaped", "the path separator `/`"),
        ("a\\b", "the path separator `\\`"),
        ("a/b\nc", "the path separator `/`"),
        ("b\nc", "the control character \\n"),
        ("..", "may not point to its parent"),
        ("  ", "the name is empty"),
    ] {
        let found = issues(&named(name));
        assert_eq!(found.len(), 1, "{name:?}: {found:?}");
        assert_eq!((found[0].key.as_str(), found[0].line), ("name", 2));
        assert!(
            found[0].message.contains(hint),
            "{name:?}: {}",
            found[0].message
        );
    }
    let long = issues(&named(&"é".repeat(51)));
    assert!(long[0].message.contains("102 bytes long"), "{long:?}");
    assert!(parse(&named(&"n".repeat(100)), "s.toml", "s").is_ok());
    // the name from the file's name is checked too
    let unnamed = GOOD.replace("name = \"t\"\n", "");
    let found = match parse(&unnamed, "a\nb.toml", "a\nb") {
        Err(ScenarioError::Invalid { issues, .. }) => issues,
        other => panic!("{other:?}"),
    };
    assert_eq!(found[0].key, "name");
    assert!(
        found[0].message.contains("named after its file"),
        "{found:?}"
    );
    // the default stream `kbench-<name>` must be a stream name; a given stream need not follow
    let spaced = issues(&named("my test"));
    assert!(
        spaced[0]
            .message
            .contains("`kbench-my test` is not a valid stream name"),
        "{spaced:?}"
    );
    let with_stream = named("my test").replace("shards = 2", "shards = 2\nstream = \"s\"");
    assert!(parse(&with_stream, "s.toml", "s").is_ok());
}

/// 20,000 phases peaked at 4.9 GB: a scenario has at most 10,000, and a phase that offers no
/// record is said, not silently skipped.
#[test]
fn phases_are_bounded_and_a_phase_below_one_record_is_reported() {
    let many = "[[phase]]\nduration = \"1s\"\nrate = 10\n".repeat(10_001);
    let i = &issues(&many)[0];
    assert_eq!(i.key, "phase[10001]");
    assert!(
        i.message.contains("kbench runs at most 10000"),
        "{}",
        i.message
    );
    let long = "[[phase]]\nduration = \"30days\"\nrate = 10\n".repeat(2);
    let i = &issues(&long)[0];
    assert!(
        i.message.contains("a run lasts at most 30 days"),
        "{}",
        i.message
    );

    let one_silent = GOOD.replace(
        "duration = \"2s\"\nrate = 100",
        "duration = \"2ms\"\nrate = 100",
    );
    let (_, notes) = parse_with_notes(&one_silent, "s.toml", "s").expect("valid");
    assert_eq!(
        notes,
        vec![
            "s.toml:13:1: `phase[1]`: phase `warm` offers no record: 2ms at 100 records/s makes 0.2 of a record, which rounds to none; lengthen it or raise its rate"
        ]
    );
    let none = "[[phase]]\nduration = \"1s\"\nrate = 0.4\n";
    let i = &issues(none)[0];
    assert_eq!(i.key, "phase");
    assert!(
        i.message.contains("the run would send nothing"),
        "{}",
        i.message
    );
    // a closed loop offers what it makes: no note
    let max = "[[phase]]\nduration = \"1ms\"\nrate = \"max\"\n";
    assert!(
        parse_with_notes(max, "s.toml", "s")
            .expect("valid")
            .1
            .is_empty()
    );
}

/// `backoff = { base = "30d" }`, `poll_interval = "30d"` and `drain = "30d"` validated: runs that
/// only Ctrl-C would end. Every duration key has a bound, said with the key and the reason.
#[test]
fn durations_that_only_ctrl_c_would_end_are_rejected_with_their_bound() {
    let with = |table: &str, line: &str| format!("{GOOD}[{table}]\n{line}\n");
    let one = |text: String| {
        let mut found = issues(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    };
    let backoff = one(GOOD.replace("linger = \"10ms\"", "backoff = { base = \"30d\" }"));
    assert_eq!(backoff.key, "producer.backoff.base");
    assert_eq!(
        backoff.message,
        "`30d` is longer than `producer.backoff.base` takes: use at most 1m (the AWS SDKs cap retry backoff at 20s)"
    );
    let cases = [
        (
            "consumer",
            "poll_interval = \"30d\"",
            "consumer.poll_interval",
            "use at most 1m (shard iterators expire",
        ),
        (
            "consumer",
            "drain = \"30d\"",
            "consumer.drain",
            "use at most 10m",
        ),
        (
            "report",
            "interval = \"2h\"",
            "report.interval",
            "use at most 1h",
        ),
        (
            "report",
            "interval = \"10ms\"",
            "report.interval",
            "use 100ms to 1h",
        ),
    ];
    for (table, line, key, hint) in cases {
        let i = one(with(table, line));
        assert_eq!(i.key, key);
        assert!(i.message.contains(hint), "{line}: {}", i.message);
    }
    for (line, key, hint) in [
        ("linger = \"1h\"", "producer.linger", "use at most 1m"),
        (
            "request_timeout = \"0s\"",
            "producer.request_timeout",
            "use 1ms to 2m",
        ),
        (
            "request_timeout = \"3m\"",
            "producer.request_timeout",
            "use at most 2m",
        ),
        (
            "backoff = { max = \"2m\" }",
            "producer.backoff.max",
            "use at most 1m",
        ),
    ] {
        let i = one(GOOD.replace("linger = \"10ms\"", line));
        assert_eq!(i.key, key, "{line}");
        assert!(i.message.contains(hint), "{line}: {}", i.message);
    }
    let slo = one(GOOD.replace("put_p99 = \"250ms\"", "put_p99 = \"31d\""));
    assert_eq!(slo.key, "slo.put_p99");
    // the bounds themselves are accepted
    let edge = GOOD.replace(
        "linger = \"10ms\"",
        "linger = \"1m\"\nbackoff = { base = \"1m\", max = \"1m\" }\nrequest_timeout = \"2m\"",
    ) + "[consumer]\ndrain = \"10m\"\npoll_interval = \"1m\"\n[report]\ninterval = \"1h\"\n";
    parse(&edge, "s.toml", "s").unwrap_or_else(|e| panic!("{e}"));
}

const PIPELINE: &str = r#"
name = "p"
[[phase]]
duration = "10s"
rate = 100
[delivery]
bucket = "kbench-pipeline"
buffer = { size = "1MiB", interval = "10s" }
compression = "gzip"
delimiter = "\n"
[slo]
delivery_p99 = "30s"
max_delivery_lost = 0
"#;

#[test]
fn a_delivery_is_defaulted_and_reads_back_the_same() {
    let s = parse(PIPELINE, "s.toml", "s").unwrap_or_else(|e| panic!("{e}"));
    let d = s.delivery.as_ref().expect("a delivery");
    assert_eq!(d.kind, DeliveryKind::Firehose);
    assert_eq!(d.prefix, "kbench-p/");
    assert_eq!(d.drain, Duration::from_secs(40), "the interval and 30 s");
    let f = d.firehose.as_ref().expect("firehose");
    assert_eq!(f.delivery_stream, "kbench-p-to-s3");
    assert_eq!(
        (f.buffer_mib, f.buffer_interval),
        (1, Duration::from_secs(10))
    );
    assert!(f.gzip);
    assert_eq!(f.delimiter.as_deref(), Some("\n"));
    assert_eq!(s.slo.max_delivery_lost, Some(0));
    assert_eq!(s.drain(), Duration::from_secs(40));
    let text = s.to_toml();
    let again = parse(&text, "effective.toml", "x").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.to_toml(), text);
}

#[test]
fn delivery_settings_aws_would_refuse_are_refused_naming_the_key() {
    for (change, key, says) in [
        (
            "buffer = { size = \"0MiB\" }",
            "delivery.buffer.size",
            "1MiB to 128MiB",
        ),
        (
            "buffer = { size = \"129MiB\" }",
            "delivery.buffer.size",
            "1MiB to 128MiB",
        ),
        (
            "buffer = { size = \"1.5MiB\" }",
            "delivery.buffer.size",
            "whole number of MiB",
        ),
        (
            "buffer = { interval = \"901s\" }",
            "delivery.buffer.interval",
            "900",
        ),
        (
            "bucket = \"Not_A_Bucket\"",
            "delivery.bucket",
            "not a valid bucket name",
        ),
        ("compression = \"zip\"", "delivery.compression", "\"gzip\""),
        ("kind = \"lambda\"", "delivery.kind", "\"s3\""),
        (
            "role_arn = \"firehose-role\"",
            "delivery.role_arn",
            "role ARN",
        ),
        (
            "prefix = \"a/!{timestamp:yyyy\"",
            "delivery.prefix",
            "not closed",
        ),
    ] {
        let mut text = String::from("[[phase]]\nduration = \"1s\"\nrate = 1\n[delivery]\n");
        if !change.starts_with("bucket") {
            text.push_str("bucket = \"kbench-pipeline\"\n");
        }
        text.push_str(change);
        text.push('\n');
        let found = issues(&text);
        assert!(
            found
                .iter()
                .any(|i| i.key == key && i.message.contains(says)),
            "{change}: {found:?}"
        );
    }
    // kind = "s3" watches someone else's pipeline: Firehose's keys do not apply
    let found = issues(
        "[[phase]]\nduration = \"1s\"\nrate = 1\n[delivery]\nkind = \"s3\"\nbucket = \"b-1\"\nbuffer = { interval = \"1s\" }\n",
    );
    assert!(
        found
            .iter()
            .any(|i| i.key == "delivery.buffer" && i.message.contains("kind = \"firehose\" only")),
        "{found:?}"
    );
    // a delivery SLO needs a delivery; a delivery needs a bucket
    let found = issues("[[phase]]\nduration = \"1s\"\nrate = 1\n[slo]\ndelivery_p99 = \"1s\"\n");
    assert!(
        found.iter().any(|i| i.key == "slo.delivery_p99"),
        "{found:?}"
    );
    let found = issues("[[phase]]\nduration = \"1s\"\nrate = 1\n[delivery]\nprefix = \"x/\"\n");
    assert!(
        found.iter().any(|i| i.key == "delivery.bucket"),
        "{found:?}"
    );
}

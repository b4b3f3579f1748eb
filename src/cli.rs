//! The command line: clap definitions and the dispatch to the library.

use crate::endpoint::embedded::{Embedded, EmbeddedOptions};
use crate::report::load::{self, ReportData};
use crate::report::regression::{self, RunComparison, Thresholds};
use crate::report::{RunReport, summary};
use crate::runner::{self, RunSettings};
use crate::scenario::{self, Endpoint, Rate, Scenario, units};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_BREACH: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "kbench",
    version,
    about = "Load generator and throughput benchmark for Amazon Kinesis Data Streams"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario, write a report directory and print a summary (exit 2 on SLO breach).
    Run(RunArgs),
    /// Check scenario files without touching the network and print the effective scenario.
    Validate {
        /// Scenario files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compare two report directories side by side (exit 2 when B regressed against A).
    Compare(CompareArgs),
    /// Re-render the charts, report.html and the summary from a report directory's files.
    Report {
        /// A report directory written by `kbench run`.
        dir: PathBuf,
    },
    /// How many shards a workload needs: average and hottest shard per shard count (offline).
    Size(SizeArgs),
    /// Find the highest rate the scenario's stream sustains within its SLO, per shard count
    /// (exit 2 when no shard count tried sustains the target rate).
    Sweep(SweepArgs),
    /// Serve the embedded Kinesis endpoint for other clients (AWS CLI, boto3, other SDKs).
    Serve {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 4567)]
        port: u16,
        /// Serve the null endpoint instead: PutRecord and PutRecords acknowledged without storing
        /// (measures the client alone; runs against it need `[consumer] enabled = false`).
        #[arg(long, conflicts_with_all = ["no_limits", "max_retained"])]
        null: bool,
        #[command(flatten)]
        embedded: EmbeddedArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct EmbeddedArgs {
    /// Embedded endpoint: do not throttle writes at the per-shard limits.
    #[arg(long)]
    pub no_limits: bool,
    /// Embedded endpoint: most record bytes kept in memory; writes beyond fail with LimitExceededException.
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size_arg)]
    pub max_retained: u64,
}

impl EmbeddedArgs {
    fn options(&self) -> EmbeddedOptions {
        EmbeddedOptions {
            enforce_limits: !self.no_limits,
            max_retained_bytes: self.max_retained,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Shards of the stream kbench creates (default: the scenario's `target.shards`).
    #[arg(long, value_parser = parse_shards_arg)]
    pub shards: Option<u32>,
    /// Total duration: phases are scaled to add up to it (e.g. 30s).
    #[arg(long, value_parser = parse_duration_arg)]
    pub duration: Option<Duration>,
    /// Rates: "2x" multiplies every rate; a number sets the peak rate, others scaled alike;
    /// "max" runs every phase as a closed loop, as fast as the in-flight limit allows.
    #[arg(long, value_parser = parse_rate_arg)]
    pub rate: Option<RateOverride>,
    /// Where report directories go.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print the final summary as JSON on stdout (instead of the table).
    #[arg(long)]
    pub json: bool,
    /// Compare the run with this report directory at the end (exit 2 on a regression).
    #[arg(long, value_name = "RUN_DIR")]
    pub baseline: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub embedded: EmbeddedArgs,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Scenario file (TOML) with an [slo]: a rate passes when every SLO holds.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Shard counts to search, e.g. 1,2,4 (default: the scenario's `target.shards`).
    #[arg(long, value_delimiter = ',', value_parser = parse_shards_arg)]
    pub shards: Vec<u32>,
    /// The rate to size for: the answer names the fewest shards that sustain it (default: the
    /// scenario's peak rate).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_records_rate)]
    pub target_rate: Option<f64>,
    /// First rate tried for every shard count (default: the calculator's estimate for it).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_records_rate)]
    pub start: Option<f64>,
    /// Unmeasured time at each step's rate before it is measured.
    #[arg(long, default_value = "2s", value_parser = units::parse_duration)]
    pub warmup: Duration,
    /// Measured time of each step.
    #[arg(long, default_value = "5s", value_parser = parse_duration_arg)]
    pub measure: Duration,
    /// Stop when the lowest failing rate is within this much of the highest passing one.
    #[arg(long, default_value = "2%", allow_hyphen_values = true, value_parser = parse_precision)]
    pub precision: f64,
    /// Most steps per shard count.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_steps: u32,
    /// The API to sweep when the scenario lists several (put_record, put_records, put_records_aggregated).
    #[arg(long)]
    pub api: Option<String>,
    /// Where the sweep's directory goes.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    #[command(flatten)]
    pub embedded: EmbeddedArgs,
}

fn parse_precision(s: &str) -> Result<f64, String> {
    match s.trim_end_matches('%').trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 50.0 => Ok(v / 100.0),
        _ => Err(format!(
            "`{s}`: give a percentage above 0% and at most 50%, e.g. 2%"
        )),
    }
}

/// Where a run goes and how its records are drawn: flags of `run` and `sweep`.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Endpoint: embedded, aws, or a URL such as http://127.0.0.1:4567.
    #[arg(long, value_parser = parse_endpoint_arg)]
    pub endpoint: Option<Endpoint>,
    /// AWS region (default: the scenario's, else the AWS environment's).
    #[arg(long)]
    pub region: Option<String>,
    /// Stream name (default: the scenario's).
    #[arg(long, value_parser = parse_stream_arg)]
    pub stream: Option<String>,
    /// Seed for keys, sizes and payloads.
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TargetArgs {
    /// Applies the flags given to a validated scenario.
    fn apply(&self, s: &mut Scenario) {
        if let Some(e) = &self.endpoint {
            s.target.endpoint = e.clone();
        }
        if let Some(r) = &self.region {
            s.target.region = Some(r.clone());
        }
        if let Some(stream) = &self.stream {
            s.target.stream = stream.clone();
        }
        if let Some(seed) = self.seed {
            s.seed = seed;
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct SizeArgs {
    /// Take the peak rate, record sizes, key distribution and consumer from this scenario.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Records per second (the peak); with --scenario, replaces its peak rate.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_records_rate)]
    pub rate: Option<f64>,
    /// Mean record data size, e.g. 2KiB; with --scenario, replaces its sizes.
    #[arg(long, value_parser = parse_record_size)]
    pub record_size: Option<u64>,
    /// Polling (GetRecords) consumers reading every shard (default 1, or the scenario's).
    #[arg(long)]
    pub polling_consumers: Option<u32>,
    /// GetRecords calls per second each polling consumer makes on each shard (default 1, or the
    /// scenario's 1 / poll_interval).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_positive_rate)]
    pub poll_rate: Option<f64>,
    /// Enhanced fan-out consumers (2 MiB/s per consumer per shard each).
    #[arg(long, default_value_t = 0)]
    pub efo_consumers: u32,
    /// Spare capacity to keep on the hottest shard, 0% to 1000%.
    #[arg(long, default_value = "20%", allow_hyphen_values = true, value_parser = parse_headroom)]
    pub headroom: f64,
    /// Provisioned price per shard-hour, USD (default: us-east-1 list price, see README).
    #[arg(long, allow_negative_numbers = true, value_parser = parse_price)]
    pub price_shard_hour: Option<f64>,
    /// Provisioned price per million PUT payload units, USD.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_price)]
    pub price_put_units: Option<f64>,
    /// On-demand price per stream-hour, USD.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_price)]
    pub price_on_demand_hour: Option<f64>,
    /// On-demand price per GiB written, USD.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_price)]
    pub price_on_demand_in: Option<f64>,
    /// On-demand price per GiB read, USD.
    #[arg(long, allow_negative_numbers = true, value_parser = parse_price)]
    pub price_on_demand_out: Option<f64>,
}

fn parse_price(s: &str) -> Result<f64, String> {
    match s.trim_start_matches('$').parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("`{s}`: give a price in US dollars, e.g. 0.015")),
    }
}

fn parse_positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("`{s}`: give a number greater than 0")),
    }
}

/// Records per second: above 0, at most the most kbench offers.
fn parse_records_rate(s: &str) -> Result<f64, String> {
    let max = crate::scenario::limits::MAX_RATE;
    match parse_positive_rate(s)? {
        v if v <= max => Ok(v),
        _ => Err(format!(
            "`{s}`: rates go up to {} records/s",
            crate::report::html::count(max as u64)
        )),
    }
}

fn parse_record_size(s: &str) -> Result<u64, String> {
    match units::parse_size(s)? {
        0 => Err(format!("`{s}`: a record has at least 1 byte")),
        n if n > crate::scenario::limits::MAX_RECORD_BYTES => Err(format!(
            "`{s}`: a Kinesis record holds at most 1 MiB (data and partition key)"
        )),
        n => Ok(n),
    }
}

/// `20%`, `20` or `0.2`-free: a percentage from 0 to 1000, as a fraction.
fn parse_headroom(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage; use e.g. 20%"))?;
    if (0.0..=1000.0).contains(&v) {
        Ok(v / 100.0)
    } else {
        Err(format!("`{s}`: headroom goes from 0% to 1000%"))
    }
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline report directory.
    pub a: PathBuf,
    /// The report directory compared with it.
    pub b: PathBuf,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, clap::Args)]
pub struct LimitArgs {
    /// How much worse than the baseline a metric may be: PCT for achieved_rps, put/e2e p50 and
    /// p99, throttled_pct and lost (default 10%); METRIC=PCT for one metric, including the
    /// ungated put_p999, put_max, e2e_p999 and e2e_max (e.g. put_p99=25%); METRIC=off to show
    /// it without gating it. Repeatable; later values win.
    #[arg(long, value_name = "PCT|METRIC=PCT", value_parser = regression::Threshold::parse)]
    pub max_regression: Vec<regression::Threshold>,
}

/// How `--rate` changes the scenario's rates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateOverride {
    /// Multiply every rate.
    Factor(f64),
    /// Scale every rate so the highest is this many records per second.
    Peak(f64),
    /// Every phase at `rate = "max"`.
    Max,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    units::parse_size(s)
}

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    let d = units::parse_duration(s)?;
    if d.is_zero() {
        Err("the duration must be longer than 0s".into())
    } else {
        Ok(d)
    }
}

fn parse_stream_arg(s: &str) -> Result<String, String> {
    scenario::validate::check_stream_name(s).map(|_| s.to_string())
}

fn parse_shards_arg(s: &str) -> Result<u32, String> {
    let max = crate::scenario::limits::MAX_SHARDS;
    match s.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}`: give a number of shards from 1 to {max}")),
    }
}

fn parse_endpoint_arg(s: &str) -> Result<Endpoint, String> {
    Endpoint::parse(s)
}

fn parse_rate_arg(s: &str) -> Result<RateOverride, String> {
    if s == "max" {
        return Ok(RateOverride::Max);
    }
    let (text, factor) = match s.strip_suffix('x') {
        Some(t) => (t, true),
        None => (s, false),
    };
    let v: f64 = text.parse().map_err(|_| {
        format!("`{s}` is not a rate; use e.g. 5000 (peak records/s), 2x (multiply) or max")
    })?;
    if !(v > 0.0 && v.is_finite()) {
        return Err(format!("`{s}`: rates must be greater than 0"));
    }
    Ok(if factor {
        RateOverride::Factor(v)
    } else {
        RateOverride::Peak(v)
    })
}

/// Applies `run`'s flags to a validated scenario.
pub fn apply_overrides(mut s: Scenario, args: &RunArgs) -> anyhow::Result<Scenario> {
    args.target.apply(&mut s);
    if let Some(n) = args.shards {
        s.target.shards = n;
    }
    if let Some(total) = args.duration {
        let current: Duration = s.phase.iter().map(|p| p.duration).sum();
        let factor = total.as_secs_f64() / current.as_secs_f64();
        for p in &mut s.phase {
            p.duration = p.duration.mul_f64(factor);
        }
    }
    if let Some(rate) = args.rate {
        let peak = s.peak_rate();
        let factor = match rate {
            RateOverride::Max => f64::INFINITY,
            _ if peak == 0.0 => anyhow::bail!(
                "--rate: every phase runs at rate = \"max\", so there is no rate to scale; leave --rate out"
            ),
            RateOverride::Factor(f) => f,
            RateOverride::Peak(r) => r / peak,
        };
        for p in &mut s.phase {
            p.rate = if factor.is_infinite() {
                Rate::MAX
            } else {
                Rate {
                    from: p.rate.from * factor,
                    to: p.rate.to * factor,
                }
            };
        }
    }
    Ok(s)
}

/// Prints a line to stdout; a closed pipe (`kbench serve | head -1`) is not an error.
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|_| stdout.flush());
}

/// Parses the command line, runs it, and returns the process exit code.
pub async fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; a bad flag is bad input: exit 1, not clap's 2
            // (2 means an SLO breach here)
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_ERROR
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Validate { files } => Ok(validate(&files)),
        Command::Serve {
            port,
            null,
            embedded,
        } => serve(port, null, embedded.options()).await,
        Command::Run(args) => run(args).await,
        Command::Compare(args) => compare(&args),
        Command::Report { dir } => report(&dir),
        Command::Size(args) => size(&args),
        Command::Sweep(args) => sweep(args).await,
    }
}

fn validate(files: &[PathBuf]) -> i32 {
    let mut code = EXIT_OK;
    for f in files {
        match scenario::load(f) {
            Ok(s) => {
                out(&format!("# {}: ok\n{}", f.display(), s.to_toml()));
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = EXIT_ERROR;
            }
        }
    }
    code
}

async fn serve(port: u16, null: bool, options: EmbeddedOptions) -> anyhow::Result<i32> {
    let server = if null {
        Embedded::start_null(port).await?
    } else {
        Embedded::start(port, &options).await?
    };
    let url = server.url();
    if null {
        out(&format!(
            "kbench: null Kinesis endpoint on {url}: PutRecord and PutRecords acknowledged, nothing stored, no reads; Ctrl-C stops it"
        ));
        out(&format!(
            "  try: kbench run SCENARIO --endpoint {url} (with `enabled = false` under [consumer])"
        ));
    } else {
        out(&format!(
            "kbench: embedded Kinesis endpoint on {url} (shard limits {}, keeps at most {}); Ctrl-C stops it",
            if options.enforce_limits { "on" } else { "off" },
            units::format_size(options.max_retained_bytes)
        ));
        out(&format!(
            "  try: aws kinesis list-streams --endpoint-url {url} --region us-east-1"
        ));
    }
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    server.shutdown().await;
    Ok(EXIT_OK)
}

/// A token cancelled by the first Ctrl-C (stop, drain briefly, write the report); a second
/// Ctrl-C quits at once.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "\ninterrupted: stopping, draining briefly and writing the report (Ctrl-C again to quit now)"
            );
            on_signal.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(EXIT_INTERRUPTED);
            }
        }
    });
    cancel
}

async fn run(args: RunArgs) -> anyhow::Result<i32> {
    let scenario = scenario::load(&args.scenario)?;
    let scenario = apply_overrides(scenario, &args)?;
    scenario
        .check_replay_length()
        .map_err(|e| anyhow::anyhow!("{}: `records.payload`: {e}", args.scenario.display()))?;
    if args.baseline.is_none() && !args.limits.max_regression.is_empty() {
        anyhow::bail!(
            "--max-regression needs --baseline RUN_DIR (the report directory to compare with)"
        );
    }
    // a bad baseline is bad input: say so before the run, not after it
    let baseline = match &args.baseline {
        Some(dir) => {
            let base =
                load::load_summary(dir).with_context(|| format!("--baseline {}", dir.display()))?;
            let apis: Vec<&str> = scenario.producer.apis.iter().map(|a| a.name()).collect();
            if !base.variants.iter().any(|v| apis.contains(&v.api.as_str())) {
                anyhow::bail!(
                    "--baseline {}: that run has no API variant of this scenario (it ran {}, this scenario runs {}): nothing to compare",
                    dir.display(),
                    base.apis(),
                    apis.join(", ")
                );
            }
            Some(base)
        }
        None => None,
    };
    let settings = RunSettings {
        out: args.out.clone(),
        progress: !args.quiet && !args.json && std::io::stdout().is_terminal(),
        embedded: args.embedded.options(),
    };
    let outcome = runner::run(&scenario, &settings, cancel_on_ctrl_c()).await?;
    let dir = outcome.dir.display().to_string();
    if args.json {
        let report = RunReport {
            summary: &outcome.summary,
            scenario: &scenario,
            measured: &[],
        };
        out(&crate::report::json::summary_json(&report)?);
    } else {
        out(summary::render(&outcome.summary, &dir).trim_end());
    }
    // errors from here on are reported, and the exit code still says the most important thing:
    // interrupted (130), then an error (1), then an SLO breach or a regression (2)
    let mut failed = false;
    let mut worse_than_baseline = false;
    if let (Some(base), Some(base_dir)) = (&baseline, &args.baseline) {
        match against_baseline(base, base_dir, &outcome.summary, &outcome.dir, &args) {
            Ok(regressed) => worse_than_baseline = regressed,
            Err(e) => {
                eprintln!("error: --baseline {}: {e:#}", base_dir.display());
                failed = true;
            }
        }
    }
    // after baseline.txt, so report.html shows the comparison
    if let Err(e) = ReportData::load(&outcome.dir).and_then(|d| crate::report::write_visuals(&d)) {
        eprintln!("error: no charts or report.html: {e:#}");
        failed = true;
    }
    if outcome.interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    if outcome.summary.slo_breached() {
        let several = outcome.summary.variants.len() > 1;
        let breached: Vec<String> = outcome
            .summary
            .variants
            .iter()
            .flat_map(|v| v.slo.iter().map(move |s| (v, s)))
            .filter(|(_, s)| !s.passed)
            .map(|(v, s)| {
                let name = if several {
                    format!("{} {}", v.api, s.name)
                } else {
                    s.name.clone()
                };
                format!("{name} = {} (limit {})", s.actual, s.threshold)
            })
            .collect();
        eprintln!("SLO breached: {}", breached.join(", "));
        return Ok(if failed { EXIT_ERROR } else { EXIT_BREACH });
    }
    Ok(if failed {
        EXIT_ERROR
    } else if worse_than_baseline {
        EXIT_BREACH
    } else {
        EXIT_OK
    })
}

/// Compares the finished run with the baseline, prints the table and keeps it as baseline.txt.
/// Returns whether it regressed.
fn against_baseline(
    base: &crate::report::RunSummary,
    base_dir: &std::path::Path,
    run: &crate::report::RunSummary,
    run_dir: &std::path::Path,
    args: &RunArgs,
) -> anyhow::Result<bool> {
    let c = RunComparison::of(base, run, &Thresholds::new(&args.limits.max_regression))?;
    let text = c.render(
        &base_dir.display().to_string(),
        &run_dir.display().to_string(),
    );
    crate::report::write_atomically(&run_dir.join("baseline.txt"), text.as_bytes())?;
    if args.json {
        eprintln!("{}", text.trim_end());
    } else {
        out(&format!(
            "\ncompared with the baseline\n{}",
            text.trim_end()
        ));
    }
    let regressed = c.regressions().next().is_some();
    if regressed {
        eprintln!("baseline: {}", c.verdict());
    }
    Ok(regressed)
}

fn compare(args: &CompareArgs) -> anyhow::Result<i32> {
    let a = load::load_summary(&args.a)?;
    let b = load::load_summary(&args.b)?;
    let thresholds = Thresholds::new(&args.limits.max_regression);
    let c = RunComparison::of(&a, &b, &thresholds)?;
    out(c
        .render(&args.a.display().to_string(), &args.b.display().to_string())
        .trim_end());
    Ok(if c.regressions().next().is_some() {
        EXIT_BREACH
    } else {
        EXIT_OK
    })
}

fn report(dir: &std::path::Path) -> anyhow::Result<i32> {
    let data = ReportData::load(dir)?;
    crate::report::write_visuals(&data)?;
    out(summary::render(&data.summary, &dir.display().to_string()).trim_end());
    Ok(EXIT_OK)
}

/// The workload `kbench size` sizes, from the flags and/or a scenario.
fn size_workload(args: &SizeArgs) -> anyhow::Result<(crate::sizing::Workload, String)> {
    let scenario = match &args.scenario {
        Some(path) => Some(scenario::load(path)?),
        None => None,
    };
    let rate = match (args.rate, &scenario) {
        (Some(r), _) => r,
        (None, Some(s)) => match s.max_rate_phase() {
            Some((key, name)) => anyhow::bail!(
                "{}: {key} (phase `{name}`) runs at rate = \"max\", which has no rate to size for; give --rate RECORDS_PER_S",
                args.scenario
                    .as_deref()
                    .unwrap_or(std::path::Path::new("-"))
                    .display()
            ),
            None => s.peak_rate(),
        },
        (None, None) => anyhow::bail!("give --rate RECORDS_PER_S (or --scenario FILE)"),
    };
    // the flags alone: a typical 16-character key
    let (key_bytes, sampled) = scenario
        .as_ref()
        .map_or((16.0, None), crate::sizing::mean_record_bytes);
    let data_bytes = match (args.record_size, &args.scenario) {
        (Some(n), _) => n as f64,
        (None, Some(path)) => sampled.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the JSON payload sizes its own records, which kbench size cannot know in advance; give --record-size (the mean record size)",
                path.display()
            )
        })?,
        (None, None) => anyhow::bail!("give --record-size SIZE (e.g. 2KiB) or --scenario FILE"),
    };
    let record_bytes = data_bytes + key_bytes;
    let (mut w, keys_text) = match &scenario {
        Some(s) => (
            crate::sizing::Workload::of_scenario(s, rate, record_bytes),
            format!("keys {}", serde_json::to_string(&s.records.keys)?),
        ),
        None => (
            crate::sizing::Workload {
                rate,
                record_bytes,
                keys: crate::scenario::keys::KeyDist::Unique,
                polling_consumers: 1,
                polls_per_s: 1.0,
                efo_consumers: 0,
                headroom: 0.0,
            },
            "many distinct keys (spread evenly)".to_string(),
        ),
    };
    if let Some(n) = args.polling_consumers {
        w.polling_consumers = n;
    }
    if let Some(r) = args.poll_rate {
        w.polls_per_s = r;
    }
    w.efo_consumers = args.efo_consumers;
    w.headroom = args.headroom;
    Ok((w, keys_text))
}

fn size(args: &SizeArgs) -> anyhow::Result<i32> {
    let (w, keys) = size_workload(args)?;
    let d = crate::sizing::Prices::default();
    let prices = crate::sizing::Prices {
        shard_hour: args.price_shard_hour.unwrap_or(d.shard_hour),
        put_units_million: args.price_put_units.unwrap_or(d.put_units_million),
        on_demand_stream_hour: args.price_on_demand_hour.unwrap_or(d.on_demand_stream_hour),
        on_demand_gb_in: args.price_on_demand_in.unwrap_or(d.on_demand_gb_in),
        on_demand_gb_out: args.price_on_demand_out.unwrap_or(d.on_demand_gb_out),
    };
    out(&crate::sizing::render(&w, &w.size(), &keys, &prices));
    Ok(EXIT_OK)
}

async fn sweep(args: SweepArgs) -> anyhow::Result<i32> {
    let path = args.scenario.display().to_string();
    let mut scenario = scenario::load(&args.scenario)?;
    args.target.apply(&mut scenario);
    if let Some(name) = &args.api {
        let api = scenario::Api::parse(name).map_err(|e| anyhow::anyhow!("--api: {e}"))?;
        scenario.producer.apis = vec![api];
    }
    crate::sweep::check_slo(&scenario).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    let shard_counts = if args.shards.is_empty() {
        vec![scenario.target.shards]
    } else {
        args.shards.clone()
    };
    let target = match (args.target_rate, scenario.max_rate_phase()) {
        (Some(rate), _) => rate,
        (None, None) => scenario.peak_rate(),
        (None, Some((key, name))) => anyhow::bail!(
            "{}: {key} (phase `{name}`) runs at rate = \"max\", which sets no target to sweep for; give --target-rate RECORDS_PER_S",
            args.scenario.display()
        ),
    };
    // the calculator's capacity per shard count: the start of each search, and shown beside it
    let workload = crate::sweep::calculator(&scenario, target);
    let settings = crate::sweep::SweepSettings {
        shard_counts,
        start: args.start,
        warmup: args.warmup,
        measure: args.measure,
        precision: args.precision,
        max_steps: args.max_steps,
        run: RunSettings {
            out: args.out.clone(),
            progress: false,
            embedded: args.embedded.options(),
        },
    };
    for &n in &settings.shard_counts {
        let name = crate::sweep::stream_name(&scenario, n, &settings);
        scenario::validate::check_stream_name(&name).map_err(|e| {
            anyhow::anyhow!(
                "the stream for {n} shards, `{name}`: {e}; choose a shorter name with --stream"
            )
        })?;
    }
    let counts: Vec<String> = settings
        .shard_counts
        .iter()
        .map(|n| n.to_string())
        .collect();
    out(&format!(
        "kbench sweep {path}: {} on {} shards; each step {} warm-up + {} measured; a step passes when every SLO holds ({}); starting {}",
        scenario.producer.apis[0],
        counts.join(", "),
        units::format_duration(settings.warmup),
        units::format_duration(settings.measure),
        slo_text(&scenario.slo),
        match (args.start, &workload) {
            (Some(r), _) => format!("at {r} records/s"),
            (None, Some(_)) => "at the calculator's estimate".into(),
            (None, None) => "at 1,000 records/s per shard (the payload, a JSON template or replayed records, sizes its own records, so the calculator cannot; --start sets the first rate)".into(),
        }
    ));
    let outcome = crate::sweep::run(
        &scenario,
        &settings,
        workload.as_ref(),
        cancel_on_ctrl_c(),
        |step| out(&crate::sweep::step_line(step)),
    )
    .await?;
    out("");
    out(crate::sweep::render(&outcome, target).trim_end());
    out(&format!(
        "sweep.csv, sweep.svg (the knee chart) and each step's report under steps/: {}",
        outcome.dir.display()
    ));
    if outcome.interrupted {
        return Ok(EXIT_INTERRUPTED);
    }
    Ok(
        if crate::sweep::recommended(&outcome.results, target).is_some() {
            EXIT_OK
        } else {
            EXIT_BREACH
        },
    )
}

/// The SLO in one line, e.g. "max_throttled_pct 0.1%, min_achieved_pct 99%".
fn slo_text(slo: &scenario::Slo) -> String {
    let ms = |d: Duration| format!("{}ms", d.as_millis());
    [
        slo.put_p99.map(|d| format!("put_p99 {}", ms(d))),
        slo.e2e_p99.map(|d| format!("e2e_p99 {}", ms(d))),
        slo.max_throttled_pct
            .map(|v| format!("max_throttled_pct {v}%")),
        slo.max_lost.map(|v| format!("max_lost {v}")),
        slo.min_achieved_pct
            .map(|v| format!("min_achieved_pct {v}%")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let text = "[[phase]]\nduration = \"10s\"\nrate = 100\n[[phase]]\nduration = \"30s\"\nrate = { from = 1000, to = 200 }\n";
        scenario::parse(text, "t.toml", "t").expect("valid")
    }

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["kbench", "run", "t.toml"];
        argv.extend(extra);
        match Cli::parse_from(argv).command {
            Command::Run(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duration_scales_phases_to_the_total() {
        let s = apply_overrides(scenario(), &args(&["--duration", "20s"])).expect("ok");
        assert_eq!(s.phase[0].duration, Duration::from_secs(5));
        assert_eq!(s.phase[1].duration, Duration::from_secs(15));
    }

    #[test]
    fn rate_multiplies_or_sets_the_peak() {
        let s = apply_overrides(scenario(), &args(&["--rate", "2x"])).expect("ok");
        assert_eq!(
            s.phase[0].rate,
            Rate {
                from: 200.0,
                to: 200.0
            }
        );
        let s = apply_overrides(scenario(), &args(&["--rate", "500"])).expect("ok");
        assert_eq!(
            s.phase[1].rate,
            Rate {
                from: 500.0,
                to: 100.0
            }
        );
        assert_eq!(s.phase[0].rate.from, 50.0);
        assert!(parse_rate_arg("0").is_err() && parse_rate_arg("fast").is_err());
    }

    #[test]
    fn endpoint_stream_and_seed_flags_override() {
        let s = apply_overrides(
            scenario(),
            &args(&[
                "--endpoint",
                "http://127.0.0.1:4567/",
                "--stream",
                "other",
                "--seed",
                "9",
                "--shards",
                "3",
            ]),
        )
        .expect("ok");
        assert_eq!(s.target.shards, 3);
        assert!(parse_shards_arg("0").is_err() && parse_shards_arg("10001").is_err());
        assert_eq!(
            s.target.endpoint,
            Endpoint::Url("http://127.0.0.1:4567".into())
        );
        assert_eq!(s.target.stream, "other");
        assert_eq!(s.seed, 9);
    }
}

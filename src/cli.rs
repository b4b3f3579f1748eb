//! The command line: clap definitions and the dispatch to the library.

use crate::endpoint::embedded::EmbeddedOptions;
use crate::report::regression;
use crate::run::command::RunCommand;
use crate::scenario::overrides::{Overrides, RateOverride};
use crate::scenario::{self, Endpoint, units};
use crate::sizing::command::SizeRequest;
use crate::sweep::command::SweepCommand;
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

mod docs;
mod parse;

pub use crate::console::{
    EXIT_BREACH, EXIT_ERROR, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED,
};
pub use docs::CompletionShell;
use parse::*;

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
        #[arg(long, conflicts_with_all = ["no_limits", "no_read_limits", "max_retained", "state_dir", "efo_session", "s3_dir"])]
        null: bool,
        /// Keep the streams and records in DIR (a write-ahead log and snapshots), so that the
        /// endpoint restarted with the same DIR, even after a kill, carries on where it was.
        #[arg(long, value_name = "DIR")]
        state_dir: Option<PathBuf>,
        /// Inject the faults in FILE (TOML: what a scenario's [target.faults] holds, at the top
        /// level; docs/scenarios.md): errors, partial failures, latency, stalls, resets, outages.
        #[arg(long, value_name = "FILE")]
        faults: Option<PathBuf>,
        /// How long a SubscribeToShard subscription lasts before the client must renew it
        /// (Kinesis: 5 minutes); e.g. `2s` to test renewals.
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration_arg)]
        efo_session: Duration,
        /// Keep S3's buckets in DIR (created if missing; a bucket is a folder of it, an object
        /// a file), and keep them after the endpoint stops. Without it they live in a temporary
        /// folder, removed when the endpoint stops.
        #[arg(long, value_name = "DIR")]
        s3_dir: Option<PathBuf>,
        #[command(flatten)]
        embedded: EmbeddedArgs,
    },
    /// Print a shell completion script on stdout (install lines in docs/commands.md).
    Completions {
        /// The shell: bash, zsh, fish or powershell.
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Print kbench's man page (roff) on stdout, e.g. `kbench man > kbench.1`.
    Man,
}

#[derive(Debug, clap::Args)]
pub struct EmbeddedArgs {
    /// Embedded endpoint: do not throttle writes or reads at the per-shard limits.
    #[arg(long)]
    pub no_limits: bool,
    /// Embedded endpoint: do not throttle reads at the per-shard limits (GetRecords 5 calls/s
    /// and 2 MiB/s, GetShardIterator 5 calls/s); writes stay throttled.
    #[arg(long)]
    pub no_read_limits: bool,
    /// Embedded endpoint: most record bytes kept in memory; writes beyond fail with LimitExceededException.
    #[arg(long, value_name = "SIZE", default_value = "4GiB", value_parser = parse_size_arg)]
    pub max_retained: u64,
}

impl EmbeddedArgs {
    fn options(&self) -> EmbeddedOptions {
        EmbeddedOptions {
            enforce_limits: !self.no_limits,
            enforce_read_limits: !self.no_read_limits,
            max_retained_bytes: self.max_retained,
            ..EmbeddedOptions::default()
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
    #[arg(long, value_parser = parse_seed_arg)]
    pub seed: Option<u64>,
}

impl TargetArgs {
    /// The flags given, as changes to the scenario.
    fn overrides(&self) -> Overrides {
        Overrides {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            stream: self.stream.clone(),
            seed: self.seed,
            ..Overrides::default()
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
    /// Provisioned price per shard-hour, USD (default: us-east-1 list price, see docs/sizing.md).
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

impl RunArgs {
    /// The flags that change the scenario.
    fn overrides(&self) -> Overrides {
        Overrides {
            shards: self.shards,
            duration: self.duration,
            rate: self.rate,
            ..self.target.overrides()
        }
    }

    fn command(&self) -> RunCommand {
        RunCommand {
            scenario: self.scenario.clone(),
            overrides: self.overrides(),
            out: self.out.clone(),
            progress: !self.quiet && std::io::stdout().is_terminal(),
            json: self.json,
            baseline: self.baseline.clone(),
            max_regression: self.limits.max_regression.clone(),
            embedded: self.embedded.options(),
        }
    }
}

impl SweepArgs {
    fn command(&self) -> SweepCommand {
        SweepCommand {
            scenario: self.scenario.clone(),
            overrides: self.target.overrides(),
            api: self.api.clone(),
            target_rate: self.target_rate,
            settings: crate::sweep::SweepSettings {
                shard_counts: self.shards.clone(),
                start: self.start,
                warmup: self.warmup,
                measure: self.measure,
                precision: self.precision,
                max_steps: self.max_steps,
                run: crate::run::RunSettings {
                    out: self.out.clone(),
                    progress: false,
                    embedded: self.embedded.options(),
                },
            },
        }
    }
}

impl SizeArgs {
    fn request(&self) -> SizeRequest {
        let d = crate::sizing::Prices::default();
        SizeRequest {
            scenario: self.scenario.clone(),
            rate: self.rate,
            record_size: self.record_size,
            polling_consumers: self.polling_consumers,
            poll_rate: self.poll_rate,
            efo_consumers: self.efo_consumers,
            headroom: self.headroom,
            prices: crate::sizing::Prices {
                shard_hour: self.price_shard_hour.unwrap_or(d.shard_hour),
                put_units_million: self.price_put_units.unwrap_or(d.put_units_million),
                on_demand_stream_hour: self.price_on_demand_hour.unwrap_or(d.on_demand_stream_hour),
                on_demand_gb_in: self.price_on_demand_in.unwrap_or(d.on_demand_gb_in),
                on_demand_gb_out: self.price_on_demand_out.unwrap_or(d.on_demand_gb_out),
            },
        }
    }
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
        Command::Validate { files } => Ok(scenario::command::validate(&files)),
        Command::Serve {
            port,
            null,
            state_dir,
            faults,
            efo_session,
            s3_dir,
            embedded,
        } => {
            // S3 (and so Firehose delivery) is always on the endpoint `kbench serve` starts
            let temporary = match (&s3_dir, null) {
                (None, false) => Some(
                    tempfile::Builder::new()
                        .prefix("kbench-serve-s3-")
                        .tempdir()
                        .context(
                            "cannot make a temporary folder for the S3 buckets (give --s3-dir DIR)",
                        )?,
                ),
                _ => None,
            };
            let mut options = EmbeddedOptions {
                state_dir,
                efo_session,
                s3_dir: s3_dir.or_else(|| temporary.as_ref().map(|t| t.path().to_path_buf())),
                ..embedded.options()
            };
            if let Some(file) = &faults {
                options.faults = Some(scenario::faults::load(file)?);
            }
            let served = crate::endpoint::serve::serve(port, null, &options, stop_signal()).await;
            drop(temporary);
            served
        }
        Command::Run(args) => crate::run::command::execute(&args.command(), cancel_on_ctrl_c).await,
        Command::Compare(args) => {
            crate::report::command::compare(&args.a, &args.b, &args.limits.max_regression)
        }
        Command::Report { dir } => crate::report::command::report(&dir),
        Command::Size(args) => crate::sizing::command::size(&args.request()),
        Command::Sweep(args) => {
            crate::sweep::command::execute(&args.command(), cancel_on_ctrl_c).await
        }
        Command::Completions { shell } => {
            docs::print(&docs::completions(shell))?;
            Ok(EXIT_OK)
        }
        Command::Man => {
            docs::print(&docs::man_page()?)?;
            Ok(EXIT_OK)
        }
    }
}

/// A token cancelled by the first SIGINT (Ctrl-C) or SIGTERM: stop, drain briefly, write the
/// report. A second signal stops now (no drain, the report as it stands); if the process is
/// still there [`STOP_NOW_GRACE`] later, it exits.
fn cancel_on_ctrl_c() -> CancellationToken {
    use crate::console::signals;
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    // both listeners exist from here on, before this returns, and for good: a signal that
    // comes while the first is being handled is not missed
    #[cfg(unix)]
    let listen = |kind: tokio::signal::unix::SignalKind, what: &str| {
        tokio::signal::unix::signal(kind)
            .inspect_err(|e| tracing::warn!("cannot listen for {what}: {e}"))
            .ok()
    };
    #[cfg(unix)]
    let (mut int, mut term) = (
        listen(tokio::signal::unix::SignalKind::interrupt(), "Ctrl-C"),
        listen(tokio::signal::unix::SignalKind::terminate(), "SIGTERM"),
    );
    tokio::spawn(async move {
        #[cfg(unix)]
        async fn next(signal: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
            match signal.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        }
        loop {
            #[cfg(unix)]
            let (name, code) = tokio::select! {
                // both pending at once (sent back to back, their order lost): SIGINT first, so
                // the exit code does not depend on which branch a random poll tries first
                biased;
                Some(()) = next(&mut int) => ("Ctrl-C", EXIT_INTERRUPTED),
                Some(()) = next(&mut term) => ("SIGTERM", EXIT_TERMINATED),
                else => return,
            };
            #[cfg(not(unix))]
            let (name, code) = match tokio::signal::ctrl_c().await {
                Ok(()) => ("Ctrl-C", EXIT_INTERRUPTED),
                Err(_) => return,
            };
            if signals::received(code) {
                eprintln!(
                    "\ninterrupted ({name}): stopping, draining briefly and writing the report (again to stop now)"
                );
                on_signal.cancel();
            } else {
                eprintln!("\n{name} again: stopping now, writing the report as it stands");
                tokio::spawn(async {
                    tokio::time::sleep(STOP_NOW_GRACE).await;
                    eprintln!(
                        "kbench: still not stopped {} s after the second signal; exiting",
                        STOP_NOW_GRACE.as_secs()
                    );
                    std::process::exit(signals::interrupted_exit_code());
                });
            }
        }
    });
    cancel
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM: how `kbench serve` is stopped.
async fn stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot listen for Ctrl-C"),
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")
}

/// How long "stop now" may take to write the report before the process exits regardless.
const STOP_NOW_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Rate, Scenario};

    fn apply_overrides(s: Scenario, args: &RunArgs) -> anyhow::Result<Scenario> {
        args.overrides().apply(s)
    }

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
    fn no_read_limits_lifts_the_read_limits_only_and_no_limits_lifts_both() {
        let defaults = args(&[]).embedded.options();
        assert!(defaults.enforce_limits && defaults.enforce_read_limits);
        let reads_off = args(&["--no-read-limits"]).embedded.options();
        assert!(reads_off.enforce_limits && !reads_off.enforce_read_limits);
        assert!(!args(&["--no-limits"]).embedded.options().enforce_limits);
        match Cli::parse_from(["kbench", "serve", "--no-read-limits"]).command {
            Command::Serve { embedded, .. } => {
                let options = embedded.options();
                assert!(options.enforce_limits && !options.enforce_read_limits);
            }
            other => panic!("{other:?}"),
        }
        // the null endpoint has no limits to lift
        assert!(Cli::try_parse_from(["kbench", "serve", "--null", "--no-read-limits"]).is_err());
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

//! A run: the endpoint and stream ([`session`]), each API variant in turn ([`variants`]), and
//! within a variant a set of roles ([`role`]) driven through the same steps: prepare, start,
//! the phases, drain, stop, summarise ([`variant`]).
//!
//! Order matters: consumers take their iterators before the first record is sent; the report
//! directory and the time series exist before the first interval ends; the summary is written
//! whether the run completes or is interrupted.
//!
//! The roles, a file each: [`producer`] (the producer pool), [`polling`] (the polling consumer),
//! [`collector`] (metrics per interval and the time-series files), [`progress`] (the bars);
//! [`verdict`] concludes from them all. [`command`] is `kbench run`.

pub mod collector;
pub mod command;
pub mod delivery;
pub mod efo;
pub mod polling;
pub mod producer;
pub mod progress;
mod readback;
pub mod role;
pub mod session;
pub mod variant;
pub mod variants;
pub mod verdict;

use crate::endpoint::embedded::EmbeddedOptions;
use crate::report::RunSummary;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

pub use session::Session;

/// How to run, beyond the scenario itself.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Parent of the report directory.
    pub out: PathBuf,
    /// Show progress bars (only when stdout is a terminal).
    pub progress: bool,
    pub embedded: EmbeddedOptions,
}

/// What a run produced.
pub struct RunOutcome {
    pub summary: RunSummary,
    pub dir: PathBuf,
    pub interrupted: bool,
    /// Why the run failed (the stream vanished mid-run): the report is written, the exit code
    /// is an error's.
    pub failure: Option<String>,
    /// The first report file that could not be written (a full disk) and why: the summary is
    /// still printed, and the exit code is a failed run's.
    pub report_error: Option<String>,
}

/// Runs `scenario`; `cancel` (Ctrl-C) stops sending, drains briefly and still writes the report.
pub async fn run(
    scenario: &crate::scenario::Scenario,
    settings: &RunSettings,
    cancel: CancellationToken,
) -> anyhow::Result<RunOutcome> {
    let session = Session::open(scenario, settings).await?;
    let result = session.run(scenario, settings, cancel).await;
    session
        .close(result.as_ref().ok().map(|o| o.dir.as_path()))
        .await;
    result
}

//! What went wrong between kbench and the endpoint during a run, in words and in time: "endpoint
//! unreachable from 5.0 s to 25.7 s: connection refused (20,284 PutRecords calls)".
//!
//! Every failed call the producer or a consumer makes is noted here (throttling is not: it is
//! measured per interval and per shard, and is what a capacity test is for). Notes of the same
//! kind close together make one episode; the summary and report.html list the episodes. A
//! problem no retry can mend (the stream is gone), or the run's hard deadline, is fatal: the
//! first one stops the run through its cancel token, and the run is reported as failed with it.

use crate::report::Incident;
use aws_sdk_kinesis::config::http::HttpResponse;
use aws_sdk_kinesis::error::{ProvideErrorMetadata, SdkError};
use std::collections::BTreeMap;
use std::error::Error;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The code a request gets for a stream that does not exist (any more).
pub const NOT_FOUND: &str = "ResourceNotFoundException";

/// Notes of one kind further apart than this start a new episode (a reader backs off up to
/// 5 s between tries, so one outage is one episode).
const EPISODE_GAP: Duration = Duration::from_secs(6);

/// Episodes kept; beyond it the last one of each kind grows instead, so a run that flaps for
/// days keeps bounded memory.
const MAX_EPISODES: usize = 200;

/// What one failed call (or one failed record of a PutRecords) says about the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// ResourceNotFoundException: the stream is gone. Fatal.
    StreamGone,
    /// The request never got an answer: connection refused, reset, closed, DNS...
    Unreachable(String),
    /// No answer within the request timeout.
    TimedOut,
    /// An error response with this code (InternalFailure, ServiceUnavailable, HTTP 413 ...).
    Error(String),
    /// A PutRecords entry failed with this code while the call itself succeeded.
    RecordFailed(String),
}

impl Problem {
    /// What the problem is and its detail, as the summary words them.
    fn words(&self) -> (&'static str, String) {
        match self {
            Problem::StreamGone => ("stream not found", NOT_FOUND.to_string()),
            Problem::Unreachable(why) => ("endpoint unreachable", why.clone()),
            Problem::TimedOut => ("requests timed out", "no answer within the timeout".into()),
            Problem::Error(code) => ("error responses", code.clone()),
            Problem::RecordFailed(code) => ("records failed in PutRecords", code.clone()),
        }
    }

    /// The problem behind a call's error; None for throttling, which is not an incident.
    pub fn of_error<E>(err: &SdkError<E, HttpResponse>) -> Option<Problem>
    where
        E: ProvideErrorMetadata + Error + 'static,
    {
        if let Some(code) = err.code() {
            return Problem::of_code(code);
        }
        Some(match err {
            SdkError::TimeoutError(_) => Problem::TimedOut,
            SdkError::ServiceError(s) => {
                Problem::Error(format!("HTTP {}", s.raw().status().as_u16()))
            }
            other => match transport_detail(other) {
                // the SDK's stalled-stream protection: the answer stopped coming
                d if d.contains("minimum throughput") => Problem::TimedOut,
                d => Problem::Unreachable(d),
            },
        })
    }

    /// The problem an error code names; None for throttling.
    pub fn of_code(code: &str) -> Option<Problem> {
        match code {
            NOT_FOUND => Some(Problem::StreamGone),
            c if is_throttling(c) => None,
            c => Some(Problem::Error(c.to_string())),
        }
    }
}

/// Codes that mean "over a rate: try later". LimitExceededException is not one of them: on
/// writes it is an account or endpoint limit (the embedded endpoint's retained-bytes cap),
/// counted as a failure.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "KMSThrottlingException",
];

/// Whether `code` means "over a rate: try later".
pub fn is_throttling(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// Counts one more `key` in `counts` (a handful of keys: a list beats a map).
pub fn tally<K: PartialEq>(counts: &mut Vec<(K, u64)>, key: K) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
}

/// The cause of a transport failure in a few words: the io error's kind where there is one
/// ("connection refused"), else the innermost message.
pub fn transport_detail(err: &(dyn Error + 'static)) -> String {
    let mut source: Option<&(dyn Error + 'static)> = Some(err);
    let mut innermost = err.to_string();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            let kind = match io.kind() {
                K::ConnectionRefused => Some("connection refused"),
                K::ConnectionReset => Some("connection reset"),
                K::ConnectionAborted => Some("connection aborted"),
                K::BrokenPipe => Some("connection closed (broken pipe)"),
                K::UnexpectedEof => Some("connection closed mid-response"),
                K::TimedOut => Some("connect timed out"),
                K::NotConnected => Some("not connected"),
                _ => None,
            };
            if let Some(kind) = kind {
                return kind.to_string();
            }
        }
        innermost = e.to_string();
        source = e.source();
    }
    let mut words: String = innermost.chars().take(120).collect();
    if words.is_empty() {
        words = "transport error".into();
    }
    words
}

/// When and why the run was stopped by a problem it cannot recover from.
#[derive(Debug, Clone)]
pub struct Fatal {
    pub at: Instant,
    /// In words, for the summary: "stream `x` vanished 6.2 s into the run: ...".
    pub why: String,
    /// Whether the stream is gone (what was not read back is then not verifiable, not lost).
    pub stream_gone: bool,
}

#[derive(Debug)]
struct Episode {
    problem: Problem,
    from: Instant,
    to: Instant,
    calls: BTreeMap<&'static str, u64>,
}

/// The run's incidents; shared by every task that talks to the endpoint.
#[derive(Debug)]
pub struct Incidents {
    stream: String,
    /// The run's time origin, once its clock starts (notes before it count from creation).
    start: OnceLock<Instant>,
    created: Instant,
    fatal: OnceLock<Fatal>,
    episodes: Mutex<Vec<Episode>>,
    /// The run's cancel token, cancelled by the first fatal problem.
    stop: CancellationToken,
}

impl Incidents {
    pub fn new(stream: &str, stop: CancellationToken) -> Incidents {
        Incidents {
            stream: stream.to_string(),
            start: OnceLock::new(),
            created: Instant::now(),
            fatal: OnceLock::new(),
            episodes: Mutex::new(Vec::new()),
            stop,
        }
    }

    /// Sets the time origin the episodes are told from (the run's clock).
    pub fn started(&self, at: Instant) {
        let _ = self.start.set(at);
    }

    fn origin(&self) -> Instant {
        *self.start.get().unwrap_or(&self.created)
    }

    fn secs(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.origin()).as_secs_f64()
    }

    /// `calls` calls of `operation` met `problem` just now. A gone stream stops the run.
    pub fn note(&self, problem: Problem, operation: &'static str, calls: u64) {
        let now = Instant::now();
        if problem == Problem::StreamGone {
            let why = format!(
                "stream `{}` vanished {:.1} s into the run: {operation} got {NOT_FOUND} (deleted by someone else, or the endpoint lost it); the run stopped there",
                self.stream,
                self.secs(now)
            );
            self.fail_with(why, true);
        }
        let mut episodes = self.episodes.lock().unwrap_or_else(|e| e.into_inner());
        // the open episode of this kind; past the cap, the last one of the kind grows instead
        let full = episodes.len() >= MAX_EPISODES;
        let open = episodes
            .iter()
            .rposition(|e| e.problem == problem)
            .filter(|&i| full || now.saturating_duration_since(episodes[i].to) <= EPISODE_GAP)
            .or_else(|| full.then(|| episodes.len() - 1));
        match open {
            Some(i) => {
                let e = &mut episodes[i];
                e.to = e.to.max(now);
                *e.calls.entry(operation).or_default() += calls;
            }
            None => episodes.push(Episode {
                problem,
                from: now,
                to: now,
                calls: BTreeMap::from([(operation, calls)]),
            }),
        }
    }

    /// Stops the run: `why` is the failure the report gives. The first one counts.
    pub fn fail(&self, why: String) {
        self.fail_with(why, false);
    }

    fn fail_with(&self, why: String, stream_gone: bool) {
        let fatal = Fatal {
            at: Instant::now(),
            why,
            stream_gone,
        };
        if self.fatal.set(fatal).is_ok() {
            self.stop.cancel();
        }
    }

    /// The fatal problem that stopped the run, if one did.
    pub fn fatal(&self) -> Option<&Fatal> {
        self.fatal.get()
    }

    /// Whether the stream was found gone.
    pub fn stream_gone(&self) -> bool {
        self.fatal().is_some_and(|f| f.stream_gone)
    }

    /// The episodes so far, in the order they began.
    pub fn episodes(&self) -> Vec<Incident> {
        let episodes = self.episodes.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<Incident> = episodes
            .iter()
            .map(|e| {
                let (what, detail) = e.problem.words();
                Incident {
                    what: what.to_string(),
                    detail,
                    from_s: self.secs(e.from),
                    to_s: self.secs(e.to),
                    calls: e.calls.iter().map(|(op, n)| (op.to_string(), *n)).collect(),
                }
            })
            .collect();
        list.sort_by(|a, b| a.from_s.total_cmp(&b.from_s));
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_close_together_make_one_episode_and_a_gap_starts_another() {
        let i = Incidents::new("s", CancellationToken::new());
        i.started(Instant::now());
        let refused = Problem::Unreachable("connection refused".into());
        i.note(refused.clone(), "PutRecords", 3);
        i.note(refused.clone(), "GetRecords", 1);
        i.note(Problem::Error("InternalFailure".into()), "PutRecords", 1);
        let e = i.episodes();
        assert_eq!(e.len(), 2, "{e:?}");
        assert_eq!(e[0].what, "endpoint unreachable");
        assert_eq!(e[0].detail, "connection refused");
        assert_eq!(e[0].calls.get("PutRecords"), Some(&3));
        assert_eq!(e[0].calls.get("GetRecords"), Some(&1));
        assert_eq!(e[1].detail, "InternalFailure");
        assert!(i.fatal().is_none());
    }

    #[test]
    fn a_gone_stream_is_fatal_and_cancels_the_run_once() {
        let stop = CancellationToken::new();
        let i = Incidents::new("orders", stop.clone());
        i.note(Problem::StreamGone, "GetRecords", 1);
        i.note(Problem::StreamGone, "PutRecords", 1);
        assert!(stop.is_cancelled());
        let f = i.fatal().expect("fatal");
        assert!(f.stream_gone);
        assert!(
            f.why.contains("stream `orders` vanished") && f.why.contains("GetRecords got"),
            "{}",
            f.why
        );
    }

    #[test]
    fn episodes_are_bounded() {
        let i = Incidents::new("s", CancellationToken::new());
        for n in 0..(MAX_EPISODES + 50) {
            i.note(Problem::Error(format!("E{n}")), "PutRecords", 1);
        }
        assert_eq!(i.episodes().len(), MAX_EPISODES);
    }

    #[test]
    fn throttling_is_not_an_incident() {
        assert_eq!(
            Problem::of_code("ProvisionedThroughputExceededException"),
            None
        );
        assert_eq!(
            Problem::of_code("InternalFailure"),
            Some(Problem::Error("InternalFailure".into()))
        );
        assert_eq!(Problem::of_code(NOT_FOUND), Some(Problem::StreamGone));
    }

    #[test]
    fn a_refused_connection_is_named_from_the_io_error() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "dispatch failure")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(transport_detail(&e), "connection refused");
        let other = Outer(std::io::Error::other("tls handshake eof"));
        assert_eq!(transport_detail(&other), "tls handshake eof");
    }
}

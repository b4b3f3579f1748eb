//! What the commands say on stdout, and the exit codes they return.

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_BREACH: i32 = 2;
/// The run ran and failed: the stream vanished, the endpoint stopped answering, most records
/// failed, records could not be verified, or its report could not be written in full.
pub const EXIT_FAILED: i32 = 3;
/// Stopped by SIGINT (Ctrl-C): 128 + 2.
pub const EXIT_INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (Kubernetes, CI runners): 128 + 15.
pub const EXIT_TERMINATED: i32 = 143;

/// Prints a line to stdout; a closed pipe (`kbench serve | head -1`) is not an error.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|_| stdout.flush());
}

/// The signals that stop a run: SIGINT (Ctrl-C) and SIGTERM (what Kubernetes and CI runners
/// send). The first stops scheduling, drains briefly and writes the report; a second means
/// "stop now": no drain, requests in flight abandoned, the report written as it stands.
pub mod signals {
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicI32, Ordering};
    use tokio_util::sync::CancellationToken;

    /// The exit code the first signal asks for (0: none came yet).
    static FIRST: AtomicI32 = AtomicI32::new(0);
    static NOW: LazyLock<CancellationToken> = LazyLock::new(CancellationToken::new);

    /// Cancelled by a second signal: whatever is still waiting stops waiting.
    pub fn stop_now() -> &'static CancellationToken {
        &NOW
    }

    /// The exit code of a run a signal stopped: 143 after SIGTERM, else 130.
    pub fn interrupted_exit_code() -> i32 {
        match FIRST.load(Ordering::Relaxed) {
            0 => super::EXIT_INTERRUPTED,
            code => code,
        }
    }

    /// Notes a signal with its exit code; returns whether it was the first.
    pub fn received(exit_code: i32) -> bool {
        let first = FIRST
            .compare_exchange(0, exit_code, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if !first {
            NOW.cancel();
        }
        first
    }
}

//! The kbench binary: a runtime, the library's CLI, and the exit code.

use std::io::IsTerminal;

/// mimalloc rather than the system allocator: records are made on one thread and freed on
/// another, which glibc's malloc serves slowly (it was ~18% of a closed-loop run's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The log filter when RUST_LOG is unset: warnings, but only errors from the AWS SDK's crates
/// (`aws_config`, `aws_smithy_*`, ...), whose warnings repeat, as debug dumps, what kbench
/// itself reports in one line (no region, no credentials). RUST_LOG replaces it whole.
const DEFAULT_LOG_FILTER: &str = "warn,aws_=error";

#[tokio::main]
async fn main() {
    let stderr = std::io::stderr();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        // no colour codes in a file or a pipe
        .with_ansi(stderr.is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let code = kbench::cli::main().await;
    std::process::exit(code);
}

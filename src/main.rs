//! The kbench binary: a runtime, the library's CLI, and the exit code.

/// mimalloc rather than the system allocator: records are made on one thread and freed on
/// another, which glibc's malloc serves slowly (it was ~18% of a closed-loop run's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = kbench::cli::main().await;
    std::process::exit(code);
}

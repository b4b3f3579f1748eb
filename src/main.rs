//! The kbench binary: a runtime, the library's CLI, and the exit code.

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

//! What the commands say on stdout, and the exit codes they return.

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_BREACH: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

/// Prints a line to stdout; a closed pipe (`kbench serve | head -1`) is not an error.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|_| stdout.flush());
}

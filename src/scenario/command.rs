//! `kbench validate`: check scenario files without touching the network and print each one's
//! effective, fully defaulted form.

use crate::console::{EXIT_ERROR, EXIT_OK, out};
use std::path::PathBuf;

/// Validates every file; exit 1 when any is invalid.
pub fn validate(files: &[PathBuf]) -> i32 {
    let mut code = EXIT_OK;
    for f in files {
        match super::load_with_notes(f) {
            Ok((s, notes)) => {
                for note in notes {
                    eprintln!("note: {note}");
                }
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

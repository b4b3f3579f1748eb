//! Where a byte offset of a scenario file is, for messages: its line and column, and the
//! dotted TOML key written there.

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Best-effort dotted key at a byte offset: the enclosing `[table]` and the key on that line.
pub(super) fn key_at(src: &str, offset: usize) -> String {
    let offset = offset.min(src.len());
    let mut table = String::new();
    let mut phase_count = 0;
    for line in src[..offset].lines() {
        // a table header may carry a comment: `[[phase]]  # warm-up`
        let l = match line.trim().split_once('#') {
            Some((header, _)) if line.trim().starts_with('[') => header.trim(),
            _ => line.trim(),
        };
        if l.starts_with("[[") {
            let name = l.trim_matches(|c| c == '[' || c == ']').trim();
            phase_count += 1;
            table = format!("{name}[{phase_count}]");
        } else if l.starts_with('[') {
            table = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = src[line_start..].lines().next().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").trim();
    let key = if line.contains('=') && !key.starts_with('[') {
        key
    } else {
        ""
    };
    match (table.is_empty(), key.is_empty()) {
        (true, true) => "(top level)".into(),
        (true, false) => key.into(),
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

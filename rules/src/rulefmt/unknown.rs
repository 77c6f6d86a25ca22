//! Reading a rule file while ignoring fields the format does not know
//! (promtool's `--ignore-unknown-fields`).
//!
//! The raw types refuse unknown fields, which is what every strict reader
//! wants. To ignore them instead, the file is read strictly and each
//! unknown field the reader names is blanked out of the text, key and
//! nested block, with spaces; then it is read again. Blanking keeps every
//! line and column where it was, so the problems validation finds later
//! still point at the right place in the user's file.

use super::raw::RawFile;
use super::{RuleError, yaml};

/// Reads `text` as a rule file, dropping fields the format does not know.
pub fn from_str_ignoring_unknown(path: &str, text: &str) -> Result<RawFile, RuleError> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Every round blanks at least one line, so this bound is never reached
    // by a file that can be fixed this way.
    for _ in 0..=lines.len() {
        let current = lines.join("\n");
        let err = match yaml::from_str::<RawFile>(path, &current) {
            Ok(raw) => return Ok(raw),
            Err(e) => e,
        };
        let Some(at) = err
            .position
            .filter(|_| err.message.starts_with("unknown field `"))
        else {
            return Err(err);
        };
        if !blank_entry(&mut lines, at.line as usize, at.column as usize) {
            return Err(err);
        }
    }
    yaml::from_str::<RawFile>(path, &lines.join("\n"))
}

/// Blanks the block-style mapping entry whose key starts at `line`:`column`
/// (1-based, in characters) together with the more-indented lines under
/// it. Returns false when the entry is not in block style (a flow mapping
/// such as `{a: 1, b: 2}`), which cannot be blanked line by line.
fn blank_entry(lines: &mut [String], line: usize, column: usize) -> bool {
    let Some(first) = line.checked_sub(1).and_then(|i| lines.get(i)) else {
        return false;
    };
    let indent = column.saturating_sub(1);
    let before: String = first.chars().take(indent).collect();
    if before.chars().count() != indent || !before.chars().all(|c| c == ' ' || c == '-') {
        return false;
    }
    lines[line - 1] = before;
    for l in lines.iter_mut().skip(line) {
        let trimmed = l.trim_start_matches(' ');
        let depth = l.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') || depth > indent {
            l.clear();
        } else {
            break;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_key_and_nested_block_only() {
        let mut lines: Vec<String> = ["- a: 1", "  x:", "    y: 2", "", "  b: 3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(blank_entry(&mut lines, 2, 3));
        assert_eq!(lines, ["- a: 1", "  ", "", "", "  b: 3"]);
        assert!(blank_entry(&mut lines, 1, 3));
        assert_eq!(lines[0], "- ");
        assert!(!blank_entry(&mut lines, 9, 1));
        let mut flow = vec!["{a: 1, x: 2}".to_string()];
        assert!(!blank_entry(&mut flow, 1, 8));
    }
}

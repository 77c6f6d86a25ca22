//! Alert state that survives restarts.
//!
//! Prometheus forgets its alerts when it restarts and rebuilds only the
//! `for` progress of pending alerts from the `ALERTS_FOR_STATE` series, so a
//! restart re-sends firing alerts with a new start time or, after a long
//! enough gap, makes them wait out `for` again (Prometheus issues 15175 and
//! 13957). warden saves each group's alerts to one JSON file instead and
//! restores them exactly: see [`crate::group::Group::restore_state`].
//!
//! The file carries a format version; [`save`] replaces it atomically and
//! [`load`] tells a missing file (first start) from a damaged one.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The version [`save`] writes and [`load`] accepts.
pub const FORMAT_VERSION: u32 = 1;

/// Saved state of every group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistedState {
    /// One entry per group that had something to save.
    pub groups: Vec<PersistedGroup>,
}

impl PersistedState {
    /// The saved group `name` of file `file`, if any.
    pub fn group(&self, file: &str, name: &str) -> Option<&PersistedGroup> {
        self.groups
            .iter()
            .find(|g| g.file == file && g.name == name)
    }
}

/// Saved state of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistedGroup {
    /// The rule file the group came from.
    pub file: String,
    /// The group's name.
    pub name: String,
    /// The evaluation time of the last evaluation before saving; the outage
    /// is measured from here.
    pub last_evaluation_ms: Option<i64>,
    /// Alerting rules with alerts, in group order.
    pub rules: Vec<PersistedRule>,
}

/// Saved alerts of one alerting rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PersistedRule {
    /// The alert name.
    pub name: String,
    /// Hash of the rule's definition (hex); saved alerts are restored only
    /// into a rule with the same definition.
    pub definition: String,
    /// The rule's alerts.
    pub alerts: Vec<PersistedAlert>,
}

/// One saved alert ([`crate::alerting::Alert`] in a stable shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistedAlert {
    /// Alert labels.
    pub labels: BTreeMap<String, String>,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// `inactive`, `pending` or `firing`.
    pub state: PersistedAlertState,
    /// The last value, as text so that NaN and infinities survive JSON.
    #[serde(with = "float_text")]
    pub value: f64,
    /// When the element first appeared.
    pub active_at_ms: i64,
    /// When it fired.
    pub fired_at_ms: Option<i64>,
    /// When it was resolved.
    pub resolved_at_ms: Option<i64>,
    /// When it was last sent.
    pub last_sent_at_ms: Option<i64>,
    /// Until when the last notification holds.
    pub valid_until_ms: Option<i64>,
    /// Since when `keep_firing_for` keeps it firing.
    pub keep_firing_since_ms: Option<i64>,
}

/// An alert's state in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersistedAlertState {
    /// Resolved, kept for resending.
    Inactive,
    /// Waiting for `for`.
    Pending,
    /// Firing.
    Firing,
}

/// Why the state file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading, writing, syncing or renaming failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file is not valid state JSON.
    #[error("{path}:{line}:{column}: corrupt alert state file: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the JSON went wrong, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file was written by a format this build does not know.
    #[error(
        "{path}: alert state format version {found} is not supported (expected {FORMAT_VERSION})"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
    },
}

#[derive(Serialize)]
struct FileOut<'a> {
    version: u32,
    groups: &'a [PersistedGroup],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    version: u32,
    groups: Vec<PersistedGroup>,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Atomic: temp file, fsync, rename, fsync of the directory. A crash leaves
/// the old or the new file, never a mix.
pub fn save(path: &Path, state: &PersistedState) -> Result<(), StateError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let body = serde_json::to_vec(&FileOut {
        version: FORMAT_VERSION,
        groups: &state.groups,
    })
    .map_err(|e| StateError::Io {
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    {
        let mut f = File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&body).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io_err(path))?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(&dir))
}

/// `Ok(None)` when there is no file; a damaged file or an unknown format
/// version is an error (the agent logs it and starts fresh).
pub fn load(path: &Path) -> Result<Option<PersistedState>, StateError> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let corrupt = |e: serde_json::Error| StateError::Corrupt {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let version: VersionOnly = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if version.version != FORMAT_VERSION {
        return Err(StateError::Version {
            path: path.to_path_buf(),
            found: version.version,
        });
    }
    let file: FileIn = serde_json::from_slice(&bytes).map_err(corrupt)?;
    debug_assert_eq!(file.version, FORMAT_VERSION);
    Ok(Some(PersistedState {
        groups: file.groups,
    }))
}

/// Floats as text: `1.5`, `NaN`, `inf`, `-inf` (JSON has no NaN).
mod float_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<f64>()
            .map_err(|e| D::Error::custom(format!("bad number {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests;

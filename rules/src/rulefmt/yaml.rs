//! The one place rule files meet the YAML library, so its API and error
//! type never leak into the rest of warden.

use serde::de::DeserializeOwned;

use super::{Position, RuleError};

/// Deserialises `text`, strict about duplicate keys, and turns a failure
/// into a [`RuleError`] with the position the parser reported.
pub fn from_str<T: DeserializeOwned + Default>(file: &str, text: &str) -> Result<T, RuleError> {
    match serde_saphyr::from_str::<Option<T>>(text) {
        Ok(v) => Ok(v.unwrap_or_default()),
        Err(e) => {
            let position = e.location().map(|l| Position {
                line: l.line() as u32,
                column: l.column() as u32,
            });
            let message = e.without_snippet().to_string();
            Err(RuleError {
                file: file.to_string(),
                position: position.filter(|p| p.line > 0),
                context: None,
                message: strip_location(&message),
            })
        }
    }
}

/// The library appends " at line L column C" to some messages (the
/// position is reported separately) and advice about its own options (which
/// are not the user's to set); both are dropped.
fn strip_location(message: &str) -> String {
    let message = message
        .split_once(", set DuplicateKeyPolicy")
        .map_or(message, |(head, _)| head);
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

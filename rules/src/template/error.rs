//! The error a template gives, worded exactly as Prometheus words it.

/// Which step of Prometheus's template handling failed; it decides the
/// wrapping words Prometheus puts around Go's own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Parse only, as promtool's rule validation reports it (no wrapping).
    Check,
    /// Parsing before an expansion: `error parsing template NAME: …`.
    Parse,
    /// Executing: `error executing template NAME: …`.
    Execute,
}

/// A template that does not parse or fails while running.
///
/// `Display` is Prometheus's message: for [`expand`](super::expand),
/// `error executing template __alert_X: template: __alert_X:1:130: executing
/// "__alert_X" at <humanize "x">: error calling humanize: …`; for
/// [`check`](super::check), Go's bare parse error
/// (`template: __alert_X:1: unexpected "}" in operand`), which promtool
/// prints after `annotation "summary": `.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct TemplateError {
    stage: Stage,
    template: String,
    detail: String,
}

impl TemplateError {
    pub(crate) fn new(stage: Stage, template: &str, detail: String) -> TemplateError {
        TemplateError {
            stage,
            template: template.to_string(),
            detail,
        }
    }

    /// The step that failed.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// Go's `text/template` message alone (`template: NAME:LINE: …`), without
    /// Prometheus's wrapping words.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    fn render(&self) -> String {
        match self.stage {
            Stage::Check => self.detail.clone(),
            Stage::Parse => format!("error parsing template {}: {}", self.template, self.detail),
            Stage::Execute => format!(
                "error executing template {}: {}",
                self.template, self.detail
            ),
        }
    }
}

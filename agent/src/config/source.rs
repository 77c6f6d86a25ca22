//! Where the running configuration comes from: the file (or the embedded
//! default) and the flags that override parts of it.
//!
//! `warden run` keeps one [`ConfigSource`] for its whole life, so a reload
//! (SIGHUP, `POST /-/reload`) reads the configuration exactly as the start
//! did, flags included.

use std::path::PathBuf;

use super::{Config, ConfigError, ExternalUrl, ListenAddress, load, load_default};

/// The configuration file and the flags that win over it.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// `--config.file`; `None` is the embedded default.
    pub file: Option<PathBuf>,
    /// `--web.listen-address`.
    pub listen_address: Option<String>,
    /// `--storage.path`.
    pub storage_path: Option<PathBuf>,
    /// `--web.external-url`.
    pub external_url: Option<String>,
}

impl ConfigSource {
    /// Reads the configuration and applies the flags.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut cfg = match &self.file {
            Some(path) => load(path)?,
            None => load_default()?,
        };
        if let Some(addr) = &self.listen_address {
            cfg.web.listen_address =
                ListenAddress::parse(addr).map_err(|m| flag_error("--web.listen-address", m))?;
        }
        if let Some(path) = &self.storage_path {
            cfg.storage.path = path.clone();
        }
        if let Some(url) = &self.external_url {
            cfg.web.external_url =
                Some(ExternalUrl::parse(url).map_err(|m| flag_error("--web.external-url", m))?);
        }
        Ok(cfg)
    }
}

fn flag_error(flag: &str, message: String) -> ConfigError {
    ConfigError::Invalid {
        file: flag.to_string(),
        line: None,
        column: None,
        message,
    }
}

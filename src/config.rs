//! The `--config FILE` format: the simulated topology and runtime timings, as JSON.

use std::path::Path;

use ecsim_control::topology::TopologyConfig;
use serde::Deserialize;

/// A configuration file. Every field is optional; see the README for an example.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FileConfig {
    #[serde(default)]
    pub topology: Option<TopologyConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a valid ecsim configuration: {source}")]
    Parse { path: String, source: serde_json::Error },
    #[error("{path}: {source}")]
    Topology {
        path: String,
        source: ecsim_control::topology::TopologyError,
    },
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let config: FileConfig = serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
            path: shown.clone(),
            source,
        })?;
        if let Some(t) = &config.topology {
            t.validate()
                .map_err(|source| ConfigError::Topology { path: shown, source })?;
        }
        Ok(config)
    }
}

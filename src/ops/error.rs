//! What an operation can refuse, in terms both faces map: the CLI prints it, the HTTP API answers
//! with its status (`422`, `404`, `409`, `500`) as an RFC 9457 problem.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// A value from outside is not acceptable: which field (as the CLI flag or the JSON member is
    /// named, without dashes), and why.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A request that is well-formed field by field but cannot be carried out as a whole.
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    /// herald's own fault (a stored issue that no longer compiles, a crashed worker): 500.
    #[error("{0}")]
    Internal(String),
}

impl OpsError {
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }
}

impl From<StoreError> for OpsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::NotFound(what),
            StoreError::Conflict(why) => Self::Conflict(why),
            other => Self::Store(other),
        }
    }
}

/// Parses an optional field, naming it when it is refused.
pub(crate) fn field<T, E: std::fmt::Display>(
    name: &str,
    raw: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, OpsError> {
    raw.map(parse)
        .transpose()
        .map_err(|e| OpsError::invalid(name, e))
}

/// One of a stored enum's values (`all`), from outside; a refusal lists the valid ones.
pub fn one_of<T: std::str::FromStr + std::fmt::Display + Copy>(
    field: &str,
    raw: &str,
    all: &[T],
) -> Result<T, OpsError> {
    raw.parse::<T>().map_err(|_| {
        let names: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        OpsError::invalid(field, format!("`{raw}` is not one of {}", names.join(", ")))
    })
}

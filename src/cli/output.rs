//! Printing results: text for people, or one JSON document for scripts.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    pub fn emit<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            let text = human(value);
            if !text.is_empty() {
                println!("{}", text.trim_end());
            }
        }
        Ok(())
    }
}

/// Parses a `--FLAG` value naming one of a stored enum's states, listing the valid ones when it is not.
pub fn parse_state<T: std::str::FromStr + std::fmt::Display + Copy>(
    flag: &str,
    raw: &str,
    all: &[T],
) -> anyhow::Result<T> {
    crate::ops::error::one_of(flag, raw, all).map_err(|e| anyhow::anyhow!("--{e}"))
}

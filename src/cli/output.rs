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
    raw.parse::<T>().map_err(|_| {
        let names: Vec<String> = all.iter().map(|s| s.to_string()).collect();
        anyhow::anyhow!("--{flag} `{raw}` is not one of {}", names.join(", "))
    })
}

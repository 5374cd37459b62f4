//! Layouts: `templates/NAME.mjml` (and `templates/NAME.txt` for the text part). The `default` layout is
//! also built into the binary, so herald renders with no templates directory at all.

use super::RenderError;
use std::path::{Path, PathBuf};

const DEFAULT_MJML: &str = include_str!("../../templates/default.mjml");
const DEFAULT_TEXT: &str = include_str!("../../templates/default.txt");

#[derive(Debug, Clone)]
pub struct Layout {
    pub mjml_file: String,
    pub mjml: String,
    pub text_file: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct Layouts {
    dir: PathBuf,
}

impl Layouts {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    pub fn load(&self, name: &str) -> Result<Layout, RenderError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(RenderError::at(
                name,
                None,
                "a layout name is letters, digits, `-` and `_` only",
            ));
        }
        let mjml_path = self.dir.join(format!("{name}.mjml"));
        let text_path = self.dir.join(format!("{name}.txt"));
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| {
                RenderError::at(
                    &p.display().to_string(),
                    None,
                    format!("cannot read layout: {e}"),
                )
            })
        };
        let (mjml_file, mjml) = if mjml_path.exists() {
            (mjml_path.display().to_string(), read(&mjml_path)?)
        } else if name == "default" {
            (
                "(built-in default.mjml)".to_owned(),
                DEFAULT_MJML.to_owned(),
            )
        } else {
            return Err(RenderError::at(
                &mjml_path.display().to_string(),
                None,
                format!("layout `{name}` does not exist"),
            ));
        };
        let (text_file, text) = if text_path.exists() {
            (text_path.display().to_string(), read(&text_path)?)
        } else {
            ("(built-in default.txt)".to_owned(), DEFAULT_TEXT.to_owned())
        };
        Ok(Layout {
            mjml_file,
            mjml,
            text_file,
            text,
        })
    }
}

//! Render: an issue's source (Markdown in a list's MJML layout, or a whole MJML document) becomes two
//! stored templates, HTML and plain text, once, when the issue is queued. Every error is found then,
//! with file, line and reason. Per-subscriber values are filled later by [`PersonalTemplate`], without
//! touching MJML again.

mod compose;
mod error;
mod headline;
mod html_text;
mod layout;
mod limits;
mod markdown;
mod mjml;
#[cfg(test)]
mod mrml_render_fixes;
mod personalise;
mod placeholder;
mod source;
mod stash;

pub use compose::{
    IssueContext, RenderedIssue, Strictness, composed_mjml, render_issue, render_mjml, render_with,
};
pub use error::RenderError;
pub use layout::{Layout, Layouts};
pub use limits::{GMAIL_CLIP_BYTES, MAX_ELEMENT_DEPTH, MAX_MARKDOWN_DEPTH, MAX_SOURCE_BYTES};
pub use personalise::{CompileError, Part, PersonalTemplate, Recipient, escape_html};
pub use placeholder::{Placeholder, Var};
pub use source::{FrontMatter, IssueSource, SourceKind};
#[cfg(test)]
mod mrml_parse_fixes;

//! The limits render puts on an issue, and why each exists. Each is refused (or, for the size Gmail
//! clips at, warned about) when the issue is queued or previewed, never met at send time.

/// The largest issue source herald reads: 1 MiB. Real issues are tens of KB; the stored templates of
/// every issue being sent are held in memory, and a 10 MB source once made `serve` use 578 MB.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

/// How deep Markdown may nest block quotes, lists, emphasis, links and raw HTML elements.
pub const MAX_MARKDOWN_DEPTH: usize = 32;

/// How deep the composed MJML document (layout, and the body's HTML inside it) may nest elements.
/// mrml parses and renders recursively: 10,000 nested block quotes overflowed the stack and aborted
/// the process. The layout's own elements come on top of the body's, hence more than the above.
pub const MAX_ELEMENT_DEPTH: usize = 64;

/// Gmail clips a message whose HTML passes 102 KB ("[Message clipped] View entire message"), hiding
/// the rest, the unsubscribe link included, and its open tracking. Warned about, not refused.
pub const GMAIL_CLIP_BYTES: usize = 102 * 1024;

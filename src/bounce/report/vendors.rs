//! Per-vendor corrections applied after the generic readers, for MTAs and providers whose reports
//! the generic rules misread (their own wording, or a format that hides the recipient).

use super::RecipientReport;
use super::parse::Context;

/// Adjusts the recipients read from `ctx` where a vendor's format needs it.
pub(super) fn adjust(ctx: &Context<'_>, recipients: &mut [RecipientReport]) {
    let _ = (ctx, recipients);
}

//! Reading a returned message into a [`Report`]. (Interim: the full parser is being written.)

use super::Report;
use crate::domain::BounceKind;

pub fn parse(raw: &[u8]) -> Report {
    let _ = raw;
    Report {
        kind: BounceKind::Other,
        recipients: vec![],
        feedback_type: None,
        returned_headers: vec![],
        delivered_to: vec![],
        text: String::new(),
    }
}

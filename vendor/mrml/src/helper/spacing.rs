// herald: mrml's `Spacing` (a shorthand whose every part had to end in `px`) gave way to mjml's own
// readings of shorthands and borders below, the only ones box widths use.

/// A side of a box, as mjml names it in `getShorthandAttrValue` and `getShorthandBorderValue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Top,
    Right,
    Bottom,
    Left,
}

/// mjml's `shorthandParser(value, side)`: one side of a CSS shorthand (`padding="0 25px"`) read with
/// JavaScript's `parseInt`, so a unitless `0` is 0 (herald: mrml's `Spacing` refused the whole value
/// then, and the padding counted as none). `None` where mjml gets `NaN`.
pub(crate) fn shorthand_side(value: &str, side: Side) -> Option<f64> {
    let mut parts = value.split_whitespace();
    let first = parts.next();
    let parts = [first, parts.next(), parts.next(), parts.next()];
    let index = match (parts.iter().flatten().count(), side) {
        (2, Side::Top | Side::Bottom) => 0,
        (2, Side::Left | Side::Right) => 1,
        (3, Side::Top) => 0,
        (3, Side::Left | Side::Right) => 1,
        (3, Side::Bottom) => 2,
        (4, Side::Top) => 0,
        (4, Side::Right) => 1,
        (4, Side::Bottom) => 2,
        (4, Side::Left) => 3,
        _ => return crate::helper::size::parse_int(value),
    };
    crate::helper::size::parse_int(parts[index].unwrap_or("0"))
}

/// mjml's `borderParser(border)`: the width of a CSS border (`"2px solid #eee"` is 2): the first
/// number at the start of the value or after a space, read with `parseInt`; 0 when there is none.
pub(crate) fn border_width(border: &str) -> f64 {
    let bytes = border.as_bytes();
    (0..bytes.len())
        .find(|&at| bytes[at].is_ascii_digit() && (at == 0 || bytes[at - 1] == b' '))
        .and_then(|at| crate::helper::size::parse_int(&border[at..]))
        .unwrap_or(0.0)
}

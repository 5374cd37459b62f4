use std::convert::TryFrom;
use std::num::ParseFloatError;

#[derive(Clone, Debug, thiserror::Error)]
pub enum SizeParserError {
    #[error("value should end with ${0}")]
    MissingSuffix(&'static str),
    #[error("invalid float: ${0}")]
    InvalidFloat(
        #[from]
        #[source]
        ParseFloatError,
    ),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Size {
    Pixel(Pixel),
    Percent(Percent),
    Raw(f64),
}

impl Size {
    pub fn percent(value: f64) -> Self {
        Self::Percent(Percent::new(value))
    }
    pub fn pixel(value: f64) -> Self {
        Self::Pixel(Pixel::new(value))
    }

    pub fn is_percent(&self) -> bool {
        matches!(self, Self::Percent(_))
    }

    pub fn value(&self) -> f64 {
        match self {
            Self::Pixel(p) => p.value(),
            Self::Percent(p) => p.value(),
            Self::Raw(v) => *v,
        }
    }
}

impl TryFrom<&str> for Size {
    type Error = SizeParserError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        if value.ends_with("px") {
            Ok(Self::Pixel(Pixel::try_from(value)?))
        } else if value.ends_with('%') {
            Ok(Self::Percent(Percent::try_from(value)?))
        } else {
            Ok(Self::Raw(value.parse::<f64>()?))
        }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pixel(inner) => inner.fmt(f),
            Self::Percent(inner) => inner.fmt(f),
            Self::Raw(inner) => write!(f, "{inner}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Percent(f64);

impl Percent {
    pub fn new(value: f64) -> Self {
        Self(value)
    }

    pub fn value(&self) -> f64 {
        self.0
    }
}

impl TryFrom<&str> for Percent {
    type Error = SizeParserError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        if let Some(value) = value.strip_suffix('%') {
            value
                .parse::<f64>()
                .map(Percent::new)
                .map_err(SizeParserError::InvalidFloat)
        } else {
            Err(SizeParserError::MissingSuffix("%"))
        }
    }
}

impl Default for Percent {
    fn default() -> Self {
        Self(0.0)
    }
}

impl std::fmt::Display for Percent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}%", self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pixel(f64);

impl Pixel {
    pub fn new(value: f64) -> Self {
        Self(value)
    }

    pub fn value(&self) -> f64 {
        self.0
    }

    pub fn lower(&self) -> Self {
        if self.0 <= 1.0 {
            Self(0.0)
        } else {
            Self(self.0 - 1.0)
        }
    }
}

impl TryFrom<&str> for Pixel {
    type Error = SizeParserError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        if let Some(value) = value.strip_suffix("px") {
            value
                .parse::<f64>()
                .map(Pixel::new)
                .map_err(SizeParserError::InvalidFloat)
        } else if value == "0" {
            // herald: a unitless zero is a length (as upstream's #644 has it).
            Ok(Pixel::new(0.0))
        } else {
            Err(SizeParserError::MissingSuffix("px"))
        }
    }
}

impl Default for Pixel {
    fn default() -> Self {
        Self(0.0)
    }
}

impl std::fmt::Display for Pixel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}px", self.0)
    }
}

// herald: mjml computes widths with JavaScript's numbers (f64, hence `f64` above, not mrml's `f32`)
// and reads lengths with `parseInt` and `parseFloat`; these read them the same way, so that every
// width comes out as mjml 4's does.

/// JavaScript's `parseInt(value, 10)`: leading whitespace, a sign, then the digits that follow
/// (`"10px"` is 10, `"0"` is 0, `"1.5px"` is 1, `"5%"` is 5); `None` where it gives `NaN`.
pub(crate) fn parse_int(value: &str) -> Option<f64> {
    let value = value.trim_start();
    let (negative, digits) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let number = digits[..end].parse::<f64>().ok()?;
    Some(if negative { -number } else { number })
}

/// JavaScript's `parseFloat(value)`: the longest leading decimal number; `None` where it gives `NaN`.
pub(crate) fn parse_float(value: &str) -> Option<f64> {
    let value = value.trim_start();
    let bytes = value.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'-' | b'+')) {
        end = 1;
    }
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |n| from + n)
    };
    let int_end = digits(end);
    let mut number_end = int_end;
    if bytes.get(int_end) == Some(&b'.') {
        number_end = digits(int_end + 1);
    }
    if number_end == end || (number_end == end + 1 && bytes[end] == b'.') {
        return None;
    }
    if matches!(bytes.get(number_end), Some(b'e' | b'E')) {
        let mut exp = number_end + 1;
        if matches!(bytes.get(exp), Some(b'-' | b'+')) {
            exp += 1;
        }
        let exp_end = digits(exp);
        if exp_end > exp {
            number_end = exp_end;
        }
    }
    value[..number_end].parse::<f64>().ok()
}

/// mjml's `widthParser(width, { parseFloatToInt })`: the unit is what follows the number (`px` when
/// none); pixels, and percentages unless `parse_float_to_int` is false, are read with `parseInt`.
/// `None` for a width JavaScript reads as `NaN`.
pub(crate) fn parse_width(width: &str, parse_float_to_int: bool) -> Option<Size> {
    let after_number = width
        .bytes()
        .rposition(|b| b.is_ascii_digit())
        .map_or(0, |at| at + 1);
    let unit = width[after_number..].trim_start_matches(['.', ',']);
    if unit == "%" {
        let value = if parse_float_to_int {
            parse_int(width)
        } else {
            parse_float(width)
        };
        value.map(Size::percent)
    } else {
        parse_int(width).map(Size::pixel)
    }
}

//! Typed row ids, so an issue id is never passed where a delivery id is meant.

use std::{fmt, str::FromStr};

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s.trim().parse::<i64>() {
                    Ok(n) if n > 0 => Ok(Self(n)),
                    _ => Err(format!(
                        "`{s}` is not a valid {} (a positive number)",
                        $what
                    )),
                }
            }
        }
    };
}

id_type!(IssueId, "issue id");
id_type!(ListId, "list id");
id_type!(SubscriberId, "subscriber id");
id_type!(DeliveryId, "delivery id");

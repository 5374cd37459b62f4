use crate::comment::Comment;
use crate::mj_navbar_link::MjNavbarLink;
use crate::mj_raw::MjRaw;

#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "json", serde(untagged))]
#[cfg_attr(feature = "print", enum_dispatch::enum_dispatch)]
pub enum MjNavbarChild {
    Comment(Comment),
    MjNavbarLink(MjNavbarLink),
    /// herald: mjml 4 renders an `mj-raw` here, as it stands.
    MjRaw(MjRaw),
}

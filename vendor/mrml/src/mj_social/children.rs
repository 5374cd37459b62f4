use crate::comment::Comment;
use crate::mj_raw::MjRaw;
use crate::mj_social_element::MjSocialElement;

#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(serde::Deserialize, serde::Serialize))]
#[cfg_attr(feature = "json", serde(untagged))]
#[cfg_attr(feature = "print", enum_dispatch::enum_dispatch)]
pub enum MjSocialChild {
    Comment(Comment),
    MjSocialElement(MjSocialElement),
    /// herald: mjml 4 renders an `mj-raw` here, as it stands.
    MjRaw(MjRaw),
}

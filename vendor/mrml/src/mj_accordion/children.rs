use crate::comment::Comment;
use crate::mj_accordion_element::MjAccordionElement;
use crate::mj_raw::MjRaw;

#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "json", serde(untagged))]
#[cfg_attr(feature = "print", enum_dispatch::enum_dispatch)]
pub enum MjAccordionChild {
    Comment(Comment),
    MjAccordionElement(MjAccordionElement),
    /// herald: mjml 4 renders an `mj-raw` here, as it stands.
    MjRaw(MjRaw),
}

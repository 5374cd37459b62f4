use super::MjSocialChild;
use crate::comment::Comment;
use crate::mj_raw::NAME as MJ_RAW;
use crate::mj_social_element::NAME as MJ_SOCIAL_ELEMENT;
#[cfg(feature = "async")]
use crate::prelude::parser::{AsyncMrmlParser, AsyncParseChildren, AsyncParseElement};
use crate::prelude::parser::{
    Error, MrmlCursor, MrmlParser, MrmlToken, ParseChildren, ParseElement,
};

impl ParseChildren<Vec<MjSocialChild>> for MrmlParser<'_> {
    fn parse_children(&self, cursor: &mut MrmlCursor<'_>) -> Result<Vec<MjSocialChild>, Error> {
        let mut result = Vec::new();

        loop {
            // herald: the end of the text closes the element (see `assert_element_close`).
            let Some(token) = cursor.next_token() else {
                return Ok(result);
            };
            match token? {
                MrmlToken::Comment(inner) => {
                    result.push(MjSocialChild::Comment(Comment::from(inner.text.as_str())));
                }
                MrmlToken::ElementStart(inner) => {
                    if inner.local.as_str() == MJ_SOCIAL_ELEMENT {
                        result.push(MjSocialChild::MjSocialElement(
                            self.parse(cursor, inner.local)?,
                        ));
                    } else if inner.local.as_str() == MJ_RAW {
                        // herald: mjml 4 renders an `mj-raw` here, as it stands.
                        result.push(MjSocialChild::MjRaw(self.parse(cursor, inner.local)?));
                    } else {
                        // herald: mjml 4 does not render it here; skipped with a warning.
                        cursor.skip_element(inner.span)?;
                    }
                }
                MrmlToken::ElementClose(inner) => {
                    cursor.rewind(MrmlToken::ElementClose(inner));
                    return Ok(result);
                }
                // herald: text outside ending tags is ignored, as mjml 4 ignores it.
                _ => {}
            }
        }
    }
}

#[cfg(feature = "async")]
#[cfg_attr(target_arch = "wasm32", async_trait::async_trait(?Send))]
#[cfg_attr(not(target_arch = "wasm32"), async_trait::async_trait)]
impl AsyncParseChildren<Vec<MjSocialChild>> for AsyncMrmlParser {
    async fn async_parse_children<'a>(
        &self,
        cursor: &mut MrmlCursor<'a>,
    ) -> Result<Vec<MjSocialChild>, Error> {
        let mut result = Vec::new();

        loop {
            match cursor.assert_next()? {
                MrmlToken::Comment(inner) => {
                    result.push(MjSocialChild::Comment(Comment::from(inner.text.as_str())));
                }
                MrmlToken::ElementStart(inner) => {
                    if inner.local.as_str() == MJ_SOCIAL_ELEMENT {
                        result.push(MjSocialChild::MjSocialElement(
                            self.async_parse(cursor, inner.local).await?,
                        ));
                    } else if inner.local.as_str() == MJ_RAW {
                        result.push(MjSocialChild::MjRaw(
                            self.async_parse(cursor, inner.local).await?,
                        ));
                    } else {
                        return Err(Error::UnexpectedElement {
                            origin: cursor.origin(),
                            position: inner.span.into(),
                        });
                    }
                }
                MrmlToken::ElementClose(inner) => {
                    cursor.rewind(MrmlToken::ElementClose(inner));
                    return Ok(result);
                }
                other => {
                    return Err(Error::UnexpectedToken {
                        origin: cursor.origin(),
                        position: other.span(),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::mj_social::MjSocial;

    macro_rules! assert_success {
        ($title:ident, $template:expr) => {
            crate::should_sync_parse!($title, MjSocial, $template);
        };
    }

    macro_rules! assert_fail {
        ($title:ident, $template:expr, $error:expr) => {
            crate::should_not_sync_parse!($title, MjSocial, $template, $error);
        };
    }

    assert_success!(should_handle_empty_children, "<mj-social />");

    assert_success!(
        should_handle_comments,
        "<mj-social><!-- comment --></mj-social>"
    );

    assert_fail!(
        should_error_with_text,
        "<mj-social>Hello</mj-social>",
        "UnexpectedToken { origin: Root, position: Span { start: 11, end: 16 } }"
    );

    assert_fail!(
        should_error_with_other_element,
        "<mj-social><span /></mj-social>",
        "UnexpectedElement { origin: Root, position: Span { start: 11, end: 16 } }"
    );
}

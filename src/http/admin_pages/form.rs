//! The pages' form bodies: read like every form (`http::extract::Form`),
//! but a body that is not a form is answered as a page, like every other
//! page error, and says so in the pages' words.
//!
//! Invariant: a page handler never answers JSON (schemathesis found the
//! sign-in form answering a body-less POST with the webmention endpoint's
//! JSON error).

use axum::extract::{FromRequest, Request};

use super::guard::{AdminPageError, PageError};
use crate::http::extract::{Form, Params, is_form};

/// A page's form fields.
#[derive(Debug)]
pub struct PageForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for PageForm {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_form(&request) {
            return Err(AdminPageError::Invalid(
                "this form did not arrive as a form (application/x-www-form-urlencoded); \
                 reload the page and try again"
                    .to_owned(),
            )
            .into());
        }
        let Form(fields) = Form::from_request(request, state).await?;
        Ok(Self(fields))
    }
}

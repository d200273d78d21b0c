//! Images in comment threads, without letting strangers watch the readers.
//!
//! A reply's author or a webmention's sender chooses the URLs of avatars,
//! custom emoji, media and images in content; a reader's browser that loaded
//! them would tell those servers who reads which post, when, from where.
//! With the proxy on (the default), `GET /api/comments` points every such
//! image at `GET /img` ([`urls`]), and [`Images::fetch`] gets it for the
//! reader. Off, images are linked directly and plain-http ones are dropped.
//!
//! Invariant: the proxy fetches only URLs this server signed (it is no open
//! proxy), only through the hardened client (no private addresses, time
//! and redirect limits), at most `max_bytes`, and serves only bodies that
//! sniff as PNG, JPEG, GIF, WebP or AVIF under a declared `image/*` type
//! other than SVG, with the sniffed type. Failures say little to the client
//! (the detail, which may name addresses, is logged).

mod sniff;
mod urls;

pub use sniff::ImageType;
pub use urls::{ImageUrls, PROXY_REFERENCE};

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use url::Url;

use crate::clients::http::{FetchError, FetchPolicy, HttpClient};
use crate::config::ImageProxyConfig;
use crate::signing::{Purpose, UrlSigner};
use crate::storage::StoreError;

const ACCEPT: &str = "image/avif, image/webp, image/png, image/jpeg, image/gif;q=0.9";

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image proxy is off on this server")]
    Off,
    #[error("the `url` and `sig` parameters are required")]
    Missing,
    #[error("this image URL was not signed by this server")]
    BadSignature,
    #[error("the image could not be fetched")]
    Fetch(#[source] FetchError),
    #[error("the image's server answered HTTP {0}")]
    Status(u16),
    #[error("the file is not an image this proxy serves (PNG, JPEG, GIF, WebP or AVIF)")]
    NotAnImage,
    #[error("the image is larger than the proxy's limit of {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An image to serve.
#[derive(Debug, Clone)]
pub struct Image {
    pub body: Bytes,
    pub kind: ImageType,
}

pub struct Images {
    enabled: bool,
    signer: Arc<UrlSigner>,
    client: HttpClient,
}

impl Images {
    pub fn new(
        config: ImageProxyConfig,
        fetch: &FetchPolicy,
        signer: Arc<UrlSigner>,
    ) -> Result<Self, FetchError> {
        let client = HttpClient::new(FetchPolicy {
            max_body_bytes: config.max_bytes,
            ..fetch.clone()
        })?;
        Ok(Self {
            enabled: config.enabled,
            signer,
            client,
        })
    }

    /// How the comments API writes image URLs now.
    pub async fn urls(&self) -> Result<ImageUrls, StoreError> {
        if self.enabled {
            Ok(ImageUrls::Proxied(self.signer.key().await?))
        } else {
            Ok(ImageUrls::Direct)
        }
    }

    /// `GET /img?url=…&sig=…`: the image at `url`, if we signed it and it is
    /// one we serve.
    pub async fn fetch(&self, url: Option<&str>, sig: Option<&str>) -> Result<Image, ImageError> {
        if !self.enabled {
            return Err(ImageError::Off);
        }
        let (Some(raw), Some(sig)) = (url, sig) else {
            return Err(ImageError::Missing);
        };
        let key = self.signer.key().await?;
        if !key.verify(Purpose::Image, raw.as_bytes(), sig) {
            return Err(ImageError::BadSignature);
        }
        // We signed the URL's canonical spelling (`urls::signed_query`).
        let url = Url::parse(raw).map_err(|_| ImageError::BadSignature)?;
        let fetched = self.client.get(&url, ACCEPT).await.map_err(|error| {
            tracing::info!(%url, %error, "image proxy: fetch failed");
            match error {
                FetchError::TooLarge { limit } => ImageError::TooLarge(limit),
                other => ImageError::Fetch(other),
            }
        })?;
        if fetched.status != StatusCode::OK {
            return Err(ImageError::Status(fetched.status.as_u16()));
        }
        let declared = fetched.content_type().unwrap_or_default();
        match sniff::sniff(&fetched.body) {
            Some(kind) if sniff::is_declared_image(&declared) => Ok(Image {
                body: fetched.body,
                kind,
            }),
            _ => {
                tracing::info!(%url, %declared, "image proxy: not an image it serves");
                Err(ImageError::NotAnImage)
            }
        }
    }
}

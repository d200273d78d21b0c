//! Which image a body really is, by its first bytes: the proxy serves only
//! what it recognises here, whatever type the remote declared.
//!
//! Invariant: only raster formats browsers decode inertly. SVG is refused
//! (it can carry script, which would run on our origin if opened directly),
//! and so is anything unrecognised.

/// An image type the proxy serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
    Gif,
    Webp,
    Avif,
}

impl ImageType {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
        }
    }
}

/// The type `body` starts like, if it is one we serve.
pub fn sniff(body: &[u8]) -> Option<ImageType> {
    let at = |range: std::ops::Range<usize>| body.get(range);
    if body.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageType::Png)
    } else if body.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageType::Jpeg)
    } else if body.starts_with(b"GIF87a") || body.starts_with(b"GIF89a") {
        Some(ImageType::Gif)
    } else if body.starts_with(b"RIFF") && at(8..12) == Some(b"WEBP") {
        Some(ImageType::Webp)
    } else if at(4..8) == Some(b"ftyp") && matches!(at(8..12), Some(b"avif" | b"avis")) {
        Some(ImageType::Avif)
    } else {
        None
    }
}

/// Whether a declared `Content-Type` (its essence, lower-case) says
/// "raster image": `image/*` but not SVG. The body must still sniff as one.
pub fn is_declared_image(media_type: &str) -> bool {
    media_type.starts_with("image/") && !media_type.starts_with("image/svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raster_formats_are_known_by_their_first_bytes() {
        let table: [(&[u8], Option<ImageType>); 9] = [
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(ImageType::Png)),
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], Some(ImageType::Jpeg)),
            (b"GIF89a\x01\0\x01\0", Some(ImageType::Gif)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(ImageType::Webp)),
            (b"\0\0\0\x1cftypavif\0\0\0\0", Some(ImageType::Avif)),
            (b"<svg xmlns='http://www.w3.org/2000/svg'>", None),
            (b"<html><body>not an image", None),
            (b"\x89PN", None),
            (b"", None),
        ];
        for (body, expected) in table {
            assert_eq!(sniff(body), expected, "{body:?}");
        }
    }

    #[test]
    fn declared_svg_and_non_images_are_not_images() {
        assert!(is_declared_image("image/png"));
        assert!(is_declared_image("image/jpg"));
        assert!(!is_declared_image("image/svg+xml"));
        assert!(!is_declared_image("text/html"));
        assert!(!is_declared_image("application/octet-stream"));
    }
}

//! Request body content coding (`Content-Encoding: gzip`) and header helpers shared by the
//! decoders.
//!
//! It undoes transfer-level encodings only, with a hard size cap; it must not interpret the body.

use std::borrow::Cow;
use std::io::Read;

use crate::error::AwsError;

/// The largest body ecsim inflates from a gzip request (16 MiB); beyond it the request fails
/// with 413 `RequestEntityTooLarge`.
pub const MAX_DECOMPRESSED_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Why a body could not be decoded; the router turns it into the protocol's error.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Inflated body over [`MAX_DECOMPRESSED_BODY_BYTES`].
    TooLarge,
    /// A content coding we do not support.
    UnsupportedEncoding(String),
    /// The gzip stream is corrupt.
    Corrupt(String),
}

impl BodyError {
    /// The protocol-independent part of the error; `malformed_code` is the protocol's code for a
    /// body that cannot be read (`SerializationException`, `MalformedQueryString`).
    pub(crate) fn into_aws(self, malformed_code: &str) -> AwsError {
        match self {
            BodyError::TooLarge => AwsError::client(
                "RequestEntityTooLarge",
                format!("Request body exceeds {MAX_DECOMPRESSED_BODY_BYTES} bytes after gzip decompression"),
            )
            .with_status(413),
            BodyError::UnsupportedEncoding(e) => AwsError::client(
                "UnsupportedMediaType",
                format!("ecsim does not support Content-Encoding '{e}' (only gzip and identity)"),
            )
            .with_status(415),
            BodyError::Corrupt(msg) => AwsError::client(
                malformed_code,
                format!("Cannot decompress the gzip request body: {msg}"),
            ),
        }
    }
}

/// The body with every `Content-Encoding` undone (gzip/x-gzip, identity).
pub(crate) fn decode_content<'a>(
    headers: &http::HeaderMap,
    body: &'a [u8],
) -> Result<Cow<'a, [u8]>, BodyError> {
    let mut codings: Vec<String> = Vec::new();
    for value in headers.get_all(http::header::CONTENT_ENCODING) {
        let text = value
            .to_str()
            .map_err(|_| BodyError::UnsupportedEncoding("<non-ASCII>".into()))?;
        codings.extend(
            text.split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty()),
        );
    }
    let mut current: Cow<'a, [u8]> = Cow::Borrowed(body);
    // Codings are listed in the order they were applied; undo them last first.
    for coding in codings.iter().rev() {
        match coding.as_str() {
            "identity" => {}
            "gzip" | "x-gzip" => current = Cow::Owned(gunzip(&current)?),
            other => return Err(BodyError::UnsupportedEncoding(other.chars().take(64).collect())),
        }
    }
    Ok(current)
}

fn gunzip(data: &[u8]) -> Result<Vec<u8>, BodyError> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let limit = u64::try_from(MAX_DECOMPRESSED_BODY_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| BodyError::Corrupt(e.to_string()))?;
    if out.len() > MAX_DECOMPRESSED_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    Ok(out)
}

/// The media type of `Content-Type`, lower-cased, without parameters. `Some("")` when the
/// header is present but unreadable.
pub(crate) fn media_type(headers: &http::HeaderMap) -> Option<String> {
    let value = headers.get(http::header::CONTENT_TYPE)?;
    let text = value.to_str().unwrap_or("");
    Some(text.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// A header's value as text, if present and visible ASCII.
pub(crate) fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Percent-decodes a path segment (no `+` to space).
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

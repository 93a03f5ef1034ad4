//! Lenient SigV4 parsing: who signed a request and for which region and service.
//!
//! It only reads the credential scope; it must not verify signatures, and a malformed header is
//! "no credential", never an error.

/// The credential scope of a SigV4 signature: `AKID/yyyymmdd/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    /// `yyyymmdd`, as signed.
    pub date: String,
    pub region: String,
    pub service: String,
}

/// Reads the `Credential=` part of an `Authorization: AWS4-HMAC-SHA256 Credential=…,
/// SignedHeaders=…, Signature=…` header. `None` for other schemes or a malformed scope.
pub fn parse_authorization(value: &str) -> Option<Credential> {
    let rest = value.trim_start().strip_prefix("AWS4-HMAC-SHA256")?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    rest.split(|c: char| c == ',' || c.is_ascii_whitespace())
        .find_map(|part| part.strip_prefix("Credential="))
        .and_then(parse_credential_scope)
}

/// Parses a credential scope as carried by `Credential=` or the presigned-URL query parameter
/// `X-Amz-Credential` (already percent-decoded).
pub fn parse_credential_scope(value: &str) -> Option<Credential> {
    let mut parts = value.split('/');
    let access_key_id = parts.next()?;
    let date = parts.next()?;
    let region = parts.next()?;
    let service = parts.next()?;
    if parts.next()? != "aws4_request" || parts.next().is_some() {
        return None;
    }
    let word = |s: &str, extra: &[u8]| {
        !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    let ok = word(access_key_id, b"")
        && date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
        && word(region, b"-_")
        && word(service, b"-_.");
    ok.then(|| Credential {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    })
}

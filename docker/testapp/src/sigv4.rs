//! AWS Signature Version 4 for a single request: canonical request, string to sign, derived
//! signing key and the `Authorization` header value.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Temporary or long-term AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Where and when a request is signed.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`, the request's `x-amz-date`.
    pub amz_date: &'a str,
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` for `secs` seconds after the Unix epoch (UTC).
pub fn amz_date(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Gregorian (year, month, day) of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Percent-encodes all but the unreserved characters (and `/` when `keep_slash`).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The canonical query string: parameters (as sent, already encoded) sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut params: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    params.sort_unstable();
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical headers block and the signed-headers list, over every header given.
fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut sorted: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (k.to_ascii_lowercase(), value)
        })
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut block = String::new();
    let mut names: Vec<&str> = Vec::new();
    for (name, value) in &sorted {
        if names.last() == Some(&name.as_str()) {
            // A repeated header: values join with commas on one line.
            block.pop();
            block.push(',');
        } else {
            names.push(name);
            block.push_str(name);
            block.push(':');
        }
        block.push_str(value);
        block.push('\n');
    }
    (block, names.join(";"))
}

/// The canonical request for `method path?query` with `headers` (all of them are signed).
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload_hash: &str,
) -> (String, String) {
    let (block, signed) = canonical_headers(headers);
    let path = if path.is_empty() { "/" } else { path };
    let request = format!(
        "{method}\n{}\n{}\n{block}\n{signed}\n{payload_hash}",
        uri_encode(path, true),
        canonical_query(query),
    );
    (request, signed)
}

/// The signing key derived from the secret for the scope's date, region and service.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date);
    let k_region = hmac_sha256(&k_date, region);
    let k_service = hmac_sha256(&k_region, service);
    hmac_sha256(&k_service, "aws4_request")
}

/// The `Authorization` header value for a request whose headers (including `host` and
/// `x-amz-date`, and `x-amz-security-token` when there is a token) are all in `headers`.
pub fn authorization(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload: &[u8],
    creds: &Credentials,
    scope: Scope<'_>,
) -> String {
    let (request, signed) = canonical_request(method, path, query, headers, &sha256_hex(payload));
    let date = scope.amz_date.get(..8).unwrap_or(scope.amz_date);
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{credential_scope}\n{}",
        scope.amz_date,
        sha256_hex(request.as_bytes())
    );
    let key = signing_key(&creds.secret_access_key, date, scope.region, scope.service);
    let signature = hex(&hmac_sha256(&key, &string_to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{credential_scope}, SignedHeaders={signed}, Signature={signature}",
        creds.access_key_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE_DATE: &str = "20150830T123600Z";

    fn suite_creds() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    fn suite_headers() -> Vec<(String, String)> {
        vec![
            ("Host".into(), "example.amazonaws.com".into()),
            ("X-Amz-Date".into(), SUITE_DATE.into()),
        ]
    }

    fn suite_sign(method: &str, query: &str) -> String {
        let scope = Scope {
            region: "us-east-1",
            service: "service",
            amz_date: SUITE_DATE,
        };
        authorization(method, "/", query, &suite_headers(), b"", &suite_creds(), scope)
    }

    const SUITE_PREFIX: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=";

    /// aws-sig-v4-test-suite "get-vanilla" (the suite's host is example.amazonaws.com).
    #[test]
    fn get_vanilla() {
        let (creq, signed) = canonical_request("GET", "/", "", &suite_headers(), &sha256_hex(b""));
        assert_eq!(
            creq,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(
            suite_sign("GET", ""),
            format!("{SUITE_PREFIX}5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        );
    }

    /// "get-vanilla-query-order-key-case": parameters are sorted before signing.
    #[test]
    fn get_vanilla_query_order_key_case() {
        assert_eq!(
            suite_sign("GET", "Param2=value2&Param1=value1"),
            format!("{SUITE_PREFIX}b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
        );
    }

    /// "post-vanilla": an empty body hashes as the empty string.
    #[test]
    fn post_vanilla() {
        assert_eq!(
            suite_sign("POST", ""),
            format!("{SUITE_PREFIX}5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
        );
    }

    /// The request `/whoami` sends, checked against botocore 1.43 `SigV4Auth` with these inputs.
    #[test]
    fn sts_get_caller_identity_matches_botocore() {
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let payload_hash = sha256_hex(body);
        assert_eq!(
            payload_hash,
            "ab821ae955788b0e33ebd34c208442ccfc2d406e2edc5e7a39bd6458fbb4f843"
        );
        let headers: Vec<(String, String)> = [
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("host", "169.254.170.2:4566"),
            ("x-amz-content-sha256", payload_hash.as_str()),
            ("x-amz-date", "20240517T093005Z"),
            ("x-amz-security-token", "session-token-example"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
        let creds = Credentials {
            access_key_id: "ASIAEXAMPLEKEY".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("session-token-example".into()),
        };
        let scope = Scope {
            region: "eu-west-1",
            service: "sts",
            amz_date: "20240517T093005Z",
        };
        assert_eq!(
            authorization("POST", "/", "", &headers, body, &creds, scope),
            "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY/20240517/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=0c3b021f5c08ec4ba22233fbd8bef65375b011875b41a72b7fb7308af2d8bfeb"
        );
    }

    #[test]
    fn canonical_forms() {
        let headers = vec![
            ("My-Header".to_string(), "  a   b  ".to_string()),
            ("my-header".to_string(), "c".to_string()),
            ("Host".to_string(), "h".to_string()),
        ];
        let (block, signed) = canonical_headers(&headers);
        assert_eq!(block, "host:h\nmy-header:a b,c\n");
        assert_eq!(signed, "host;my-header");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(uri_encode("/a b/ü", true), "/a%20b/%C3%BC");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }

    #[test]
    fn formats_amz_dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), SUITE_DATE);
        assert_eq!(amz_date(951_868_799), "20000229T235959Z");
        assert_eq!(amz_date(1_715_938_205), "20240517T093005Z");
    }

    #[test]
    fn debug_redacts_secrets() {
        let text = format!("{:?}", suite_creds());
        assert!(text.contains("AKIDEXAMPLE") && !text.contains("wJalr"), "{text}");
    }
}

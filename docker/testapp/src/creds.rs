//! The container credentials provider as the AWS SDKs implement it: which endpoint to ask
//! (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`), the authorization token, the rule for
//! plain-http full URIs, and reading the JSON answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::client::Url;
use crate::sigv4::Credentials;

/// The ECS credentials endpoint that relative URIs are resolved against.
pub const ECS_CREDENTIALS_ENDPOINT: &str = "http://169.254.170.2";

/// The request to make for credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsRequest {
    pub url: Url,
    /// `Authorization` header value, for full URIs.
    pub authorization: Option<String>,
}

/// Whether `ip` may serve credentials over plain http: loopback, the ECS endpoint
/// 169.254.170.2, or the EKS Pod Identity endpoints 169.254.170.23 and fd00:ec2::23.
pub fn allowed_plain_http_ip(ip: IpAddr) -> bool {
    const ECS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
    const EKS_V4: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 23);
    const EKS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23);
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.is_loopback() || v4 == ECS || v4 == EKS_V4,
        IpAddr::V6(v6) => v6.is_loopback() || v6 == EKS_V6,
    }
}

/// The SDK rule for `AWS_CONTAINER_CREDENTIALS_FULL_URI`: https is always accepted; plain http
/// only when the host is an allowed address, or a name (like `localhost`) that `resolve` maps
/// to allowed addresses only.
pub fn full_uri_allowed(url: &Url, resolve: impl Fn(&str) -> Vec<IpAddr>) -> bool {
    if url.scheme == "https" {
        return true;
    }
    if let Some(ip) = url.ip() {
        return allowed_plain_http_ip(ip);
    }
    let addrs = resolve(&url.host);
    !addrs.is_empty() && addrs.into_iter().all(allowed_plain_http_ip)
}

/// Decides where to fetch credentials from, as the SDKs do: the relative URI wins over the full
/// URI; for a full URI the token file wins over the token variable. `var` reads the environment,
/// `read_file` a token file, `resolve` a host name.
pub fn credentials_request(
    var: impl Fn(&str) -> Option<String>,
    read_file: impl Fn(&str) -> std::io::Result<String>,
    resolve: impl Fn(&str) -> Vec<IpAddr>,
) -> Result<CredentialsRequest, String> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(relative) = set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        let url = Url::parse(&format!("{ECS_CREDENTIALS_ENDPOINT}{relative}"))?;
        return Ok(CredentialsRequest {
            url,
            authorization: None,
        });
    }
    let Some(full) = set("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
        return Err(
            "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set"
                .into(),
        );
    };
    let url = Url::parse(&full)?;
    if !full_uri_allowed(&url, resolve) {
        return Err(format!(
            "refused: AWS_CONTAINER_CREDENTIALS_FULL_URI {full} is plain http to a host that is not loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23"
        ));
    }
    let authorization = if let Some(path) = set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        let token = read_file(&path)
            .map_err(|e| format!("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}"))?;
        Some(token.trim().to_string())
    } else {
        set("AWS_CONTAINER_AUTHORIZATION_TOKEN")
    };
    if authorization.as_deref().is_some_and(|t| t.contains(['\r', '\n'])) {
        return Err("the container authorization token contains a line break".into());
    }
    Ok(CredentialsRequest { url, authorization })
}

/// Reads `AccessKeyId`, `SecretAccessKey` and `Token` from a credentials endpoint's JSON.
pub fn parse_credentials(json: &str) -> Result<Credentials, String> {
    let fields = crate::json::top_level_strings(json)
        .map_err(|e| format!("credentials response is not a JSON object: {e}"))?;
    let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let missing = |key: &str| format!("credentials response has no string field {key}");
    Ok(Credentials {
        access_key_id: get("AccessKeyId").ok_or_else(|| missing("AccessKeyId"))?,
        secret_access_key: get("SecretAccessKey").ok_or_else(|| missing("SecretAccessKey"))?,
        session_token: get("Token").filter(|t| !t.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn no_dns(_: &str) -> Vec<IpAddr> {
        Vec::new()
    }

    fn hosts(name: &str) -> Vec<IpAddr> {
        match name {
            "localhost" => vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            "mixed.example" => vec!["127.0.0.1".parse().unwrap(), "10.0.0.1".parse().unwrap()],
            _ => Vec::new(),
        }
    }

    fn allowed(url: &str) -> bool {
        full_uri_allowed(&Url::parse(url).unwrap(), hosts)
    }

    #[test]
    fn full_uri_host_rule() {
        for ok in [
            "http://127.0.0.1/creds",
            "http://127.1.2.3:9000/creds",
            "http://[::1]/creds",
            "http://169.254.170.2/v2/credentials/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "http://[::ffff:127.0.0.1]/creds",
            "http://localhost:8080/creds",
            "https://credentials.example.com/creds",
        ] {
            assert!(allowed(ok), "{ok} should be allowed");
        }
        for refused in [
            "http://10.0.0.1/creds",
            "http://169.254.169.254/latest",
            "http://169.254.170.3/creds",
            "http://[fd00:ec2::24]/creds",
            "http://credentials.example.com/creds",
            "http://mixed.example/creds",
        ] {
            assert!(!allowed(refused), "{refused} should be refused");
        }
    }

    fn request(vars: &[(&str, &str)]) -> Result<CredentialsRequest, String> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        credentials_request(
            |k| map.get(k).map(|v| (*v).to_string()),
            |path| {
                if path == "/var/run/token" {
                    Ok("file-token\n".into())
                } else {
                    Err(std::io::ErrorKind::NotFound.into())
                }
            },
            no_dns,
        )
    }

    #[test]
    fn relative_uri_wins_and_targets_the_ecs_endpoint() {
        let r = request(&[
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/x"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "t"),
        ])
        .unwrap();
        assert_eq!(
            r.url,
            Url::parse("http://169.254.170.2/v2/credentials/abc").unwrap()
        );
        assert_eq!(r.authorization, None);
    }

    #[test]
    fn full_uri_with_tokens() {
        let r = request(&[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://169.254.170.23/v1/credentials",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token"),
        ])
        .unwrap();
        assert_eq!(r.authorization.as_deref(), Some("env-token"));
        let r = request(&[
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://169.254.170.23/v1/credentials",
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "env-token"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/token"),
        ])
        .unwrap();
        assert_eq!(r.authorization.as_deref(), Some("file-token"));
        let e = request(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/x"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/missing"),
        ])
        .unwrap_err();
        assert!(e.contains("/missing"), "{e}");
        let e = request(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1/x"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Injected: 1"),
        ])
        .unwrap_err();
        assert!(e.contains("line break"), "{e}");
    }

    #[test]
    fn refuses_remote_plain_http_and_missing_configuration() {
        let e = request(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.1.2.3/creds")]).unwrap_err();
        assert!(e.starts_with("refused"), "{e}");
        assert!(request(&[]).is_err());
        assert!(request(&[("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")]).is_err());
    }

    #[test]
    fn parses_credentials_json() {
        let c = parse_credentials(
            r#"{"RoleArn":"arn:aws:iam::000000000000:role/app","AccessKeyId":"ASIA1","SecretAccessKey":"s\/e\"c","Token":"tok","Expiration":"2030-01-01T00:00:00Z","Nested":{"AccessKeyId":"no"}}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "ASIA1");
        assert_eq!(c.secret_access_key, "s/e\"c");
        assert_eq!(c.session_token.as_deref(), Some("tok"));
        let e = parse_credentials(r#"{"AccessKeyId":"A"}"#).unwrap_err();
        assert!(e.contains("SecretAccessKey"), "{e}");
        assert!(parse_credentials("not json").is_err());
    }
}

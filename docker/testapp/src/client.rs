//! Client side of a minimal HTTP/1.1 over `std::net::TcpStream`: parses `http://host:port/path`
//! URLs and performs one request per connection (`Connection: close`), with timeouts.

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv6Addr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Largest response accepted.
const MAX_RESPONSE: u64 = 16 * 1024 * 1024;

/// A parsed absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `http` or `https` (lower case).
    pub scheme: String,
    /// Host name or IP address, without the brackets of an IPv6 literal.
    pub host: String,
    pub port: u16,
    /// Path and query, at least `/`.
    pub path_and_query: String,
}

impl Url {
    /// Parses `scheme://host[:port][/path][?query][#fragment]`; the fragment is dropped.
    pub fn parse(s: &str) -> Result<Url, String> {
        let bad = |why: &str| format!("invalid URL '{s}': {why}");
        let (scheme, rest) = s.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err(bad("scheme is not http or https")),
        };
        let rest = rest.split('#').next().unwrap_or("");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            host.parse::<Ipv6Addr>()
                .map_err(|_| bad("invalid IPv6 address"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or_else(|| bad("junk after ']'"))?),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if !authority.starts_with('[') && host.contains(':') {
            return Err(bad("IPv6 addresses must be in brackets"));
        }
        let port = match port {
            None | Some("") => default_port,
            Some(p) => p.parse().map_err(|_| bad("invalid port"))?,
        };
        let path_and_query = if tail.starts_with('/') {
            tail.to_string()
        } else {
            format!("/{tail}")
        };
        Ok(Url {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path_and_query,
        })
    }

    /// The host as written in a URL: IPv6 literals in brackets.
    fn bracketed_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// `host:port`, always with the port (for messages).
    pub fn authority(&self) -> String {
        format!("{}:{}", self.bracketed_host(), self.port)
    }

    /// The `Host` header value: the port only when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            self.bracketed_host()
        } else {
            self.authority()
        }
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.path_and_query.split('?').next().unwrap_or("/")
    }

    /// The query without `?` (empty when there is none).
    pub fn query(&self) -> &str {
        self.path_and_query.split_once('?').map_or("", |(_, q)| q)
    }

    /// The host as an IP address, when it is a literal one.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// A received response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Performs one request. `timeout` bounds the connect and each read and write.
pub fn request(
    method: &str,
    url: &Url,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<Reply, String> {
    if url.scheme != "http" {
        return Err(format!("{}: only plain http is supported", url.scheme));
    }
    let target = url.authority();
    let addrs: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .collect();
    let mut last_error = format!("{} resolved to no address", url.host);
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = format!("cannot connect to {target}: {e}"),
        }
    }
    let mut stream = stream.ok_or(last_error)?;
    let io_error = |e: std::io::Error| {
        let what = match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => format!("timed out after {timeout:?}"),
            _ => e.to_string(),
        };
        format!("{method} {target}{}: {what}", url.path_and_query)
    };
    stream.set_read_timeout(Some(timeout)).map_err(io_error)?;
    stream.set_write_timeout(Some(timeout)).map_err(io_error)?;

    let mut head = format!(
        "{method} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ecsim-testapp/{}\r\nConnection: close\r\n",
        url.path_and_query,
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
    );
    for (name, value) in headers {
        if value.contains(['\r', '\n']) {
            return Err(format!("header {name} contains a line break"));
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).map_err(io_error)?;
    stream.flush().map_err(io_error)?;

    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .map_err(io_error)?;
    parse_response(&raw, method == "HEAD")
        .map_err(|e| format!("{method} {target}{}: {e}", url.path_and_query))
}

/// Parses a complete response read to end of stream (skipping any `1xx` interim responses).
pub fn parse_response(mut raw: &[u8], head_only: bool) -> Result<Reply, String> {
    loop {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("incomplete response head")?;
        let head = std::str::from_utf8(&raw[..end]).map_err(|_| "response head is not UTF-8")?;
        let rest = &raw[end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
            return Err(format!("malformed status line '{status_line}'"));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(format!("malformed status line '{status_line}'"));
        }
        let status: u16 = code
            .parse()
            .map_err(|_| format!("malformed status line '{status_line}'"))?;
        if (100..200).contains(&status) {
            raw = rest;
            continue;
        }
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length '{value}'"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            }
        }
        let body = if head_only || status == 204 || status == 304 {
            Vec::new()
        } else if chunked {
            decode_chunked(rest)?
        } else if let Some(n) = length {
            rest.get(..n)
                .ok_or("response body shorter than Content-Length")?
                .to_vec()
        } else {
            rest.to_vec()
        };
        return Ok(Reply { status, body });
    }
}

/// Decodes a `Transfer-Encoding: chunked` body (trailers are ignored).
fn decode_chunked(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = std::str::from_utf8(&raw[..line_end]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_text, 16).map_err(|_| format!("bad chunk size '{size_text}'"))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = raw.get(..size).ok_or("truncated chunk")?;
        body.extend_from_slice(chunk);
        raw = raw
            .get(size..)
            .and_then(|r| r.strip_prefix(b"\r\n"))
            .ok_or("chunk not followed by CRLF")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = Url::parse("http://169.254.170.2/v2/credentials/abc?x=1#frag").unwrap();
        assert_eq!(u.scheme, "http");
        assert_eq!(u.host, "169.254.170.2");
        assert_eq!(u.port, 80);
        assert_eq!(u.path_and_query, "/v2/credentials/abc?x=1");
        assert_eq!(u.path(), "/v2/credentials/abc");
        assert_eq!(u.query(), "x=1");
        assert_eq!(u.host_header(), "169.254.170.2");

        let u = Url::parse("http://169.254.170.2:4566").unwrap();
        assert_eq!((u.port, u.path_and_query.as_str()), (4566, "/"));
        assert_eq!(u.host_header(), "169.254.170.2:4566");

        let u = Url::parse("HTTP://LocalHost:8080?a=b").unwrap();
        assert_eq!(u.host, "localhost");
        assert_eq!(u.path_and_query, "/?a=b");

        let u = Url::parse("http://[fd00:ec2::23]/creds").unwrap();
        assert_eq!(u.host, "fd00:ec2::23");
        assert_eq!(u.port, 80);
        assert_eq!(u.host_header(), "[fd00:ec2::23]");
        assert!(u.ip().is_some());

        let u = Url::parse("http://[::1]:9/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        assert_eq!(u.host_header(), "[::1]:9");
        assert_eq!(u.authority(), "[::1]:9");

        let u = Url::parse("https://sts.amazonaws.com").unwrap();
        assert_eq!((u.scheme.as_str(), u.port), ("https", 443));
    }

    #[test]
    fn refuses_bad_urls() {
        for bad in [
            "169.254.170.2/x",
            "ftp://host/",
            "http://",
            "http:///path",
            "http://host:port/",
            "http://host:70000/",
            "http://user@host/",
            "http://[fd00::1/",
            "http://[not-ip]/",
            "http://[::1]x/",
            "http://::1/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_responses() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi there", false).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, b"hi".as_slice()));
        let r = parse_response(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nunhe\r\n6;x=y\r\nalthy\n\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!((r.status, r.body_text().as_str()), (503, "unhealthy\n"));
        assert!(!r.is_success());
        let r = parse_response(b"HTTP/1.0 404 Not Found\r\n\r\nto end", false).unwrap();
        assert_eq!(r.body, b"to end");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", false).is_err());
        assert!(parse_response(b"garbage\r\n\r\n", false).is_err());
    }

    #[test]
    fn talks_to_a_local_server() {
        use std::io::BufReader;
        use std::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let req = crate::http::read_request(&mut reader, &mut Vec::new())
                .unwrap()
                .unwrap();
            let resp = crate::http::Response::text(201, format!("{} {}", req.method, req.target));
            crate::http::write_response(&mut &stream, &resp, false, false).unwrap();
            req
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}/p?q=1")).unwrap();
        let reply = request(
            "POST",
            &url,
            &[("X-Test", "yes".into())],
            b"body",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!((reply.status, reply.body_text().as_str()), (201, "POST /p?q=1"));
        let req = server.join().unwrap();
        assert_eq!(req.header("x-test"), Some("yes"));
        assert_eq!(req.header("host"), Some(format!("127.0.0.1:{port}").as_str()));
        assert_eq!(req.body, b"body");
    }
}

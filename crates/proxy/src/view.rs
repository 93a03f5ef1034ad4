//! What the router reads of a request: [`ecsim_elb::RequestView`] over a parsed HTTP request head
//! and the client's TCP address.

use std::net::IpAddr;

use ecsim_elb::RequestView;
use http::header::{COOKIE, HOST};
use http::request::Parts;

/// A request head as the router sees it.
pub(crate) struct View<'a> {
    parts: &'a Parts,
    host: Option<&'a str>,
    source_ip: IpAddr,
}

impl<'a> View<'a> {
    pub(crate) fn new(parts: &'a Parts, source_ip: IpAddr) -> Self {
        Self {
            host: host_of(parts).map(strip_port),
            parts,
            source_ip,
        }
    }
}

/// The `Host` header, else the HTTP/2 `:authority` (the URI's authority), with its port.
pub(crate) fn host_of(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| parts.uri.authority().map(http::uri::Authority::as_str))
        .map(|h| h.rsplit_once('@').map_or(h, |(_, host)| host))
}

/// `host[:port]` without its port; IPv6 literals keep their brackets.
pub(crate) fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The port of `host[:port]`, if it names one.
pub(crate) fn port_of(host: &str) -> Option<u16> {
    let rest = if host.starts_with('[') {
        &host[host.find(']')? + 1..]
    } else {
        host
    };
    rest.rsplit_once(':')?.1.parse().ok()
}

impl RequestView for View<'_> {
    fn method(&self) -> &str {
        self.parts.method.as_str()
    }

    fn host(&self) -> Option<&str> {
        self.host
    }

    fn path(&self) -> &str {
        self.parts.uri.path()
    }

    fn query(&self) -> Option<&str> {
        self.parts.uri.query()
    }

    fn header_values<'b>(&'b self, name: &str) -> Box<dyn Iterator<Item = &'b str> + 'b> {
        Box::new(
            self.parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        )
    }

    fn source_ip(&self) -> IpAddr {
        self.source_ip
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.trim_matches('"'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(builder: http::request::Builder) -> Parts {
        builder
            .body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| http::Request::new(()).into_parts().0)
    }

    #[test]
    fn reads_host_path_query_and_cookies() {
        let p = parts(
            http::Request::get("/a/b?x=1&y=2")
                .header("host", "Web-123.elb.localhost:8080")
                .header("cookie", "a=1; AWSALB=abc")
                .header("cookie", "b=\"2\"")
                .header("x-k", "v1")
                .header("x-k", "v2"),
        );
        let v = View::new(&p, IpAddr::from([10, 0, 0, 1]));
        assert_eq!(v.host(), Some("Web-123.elb.localhost"));
        assert_eq!(v.path(), "/a/b");
        assert_eq!(v.query(), Some("x=1&y=2"));
        assert_eq!(v.cookie("AWSALB"), Some("abc"));
        assert_eq!(v.cookie("b"), Some("2"));
        assert_eq!(v.cookie("c"), None);
        assert_eq!(v.header_values("x-k").collect::<Vec<_>>(), ["v1", "v2"]);
    }

    #[test]
    fn h2_authority_stands_in_for_host() {
        let p = parts(http::Request::get("https://lb.example:443/p"));
        let v = View::new(&p, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(v.host(), Some("lb.example"));
    }

    #[test]
    fn ports() {
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("a.b"), "a.b");
        assert_eq!(port_of("a.b:81"), Some(81));
        assert_eq!(port_of("[::1]:82"), Some(82));
        assert_eq!(port_of("[::1]"), None);
        assert_eq!(port_of("a.b"), None);
    }
}

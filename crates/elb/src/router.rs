//! Routing one request through a listener exactly as an ALB does: rules in ascending priority,
//! the default rule last; the first rule whose conditions all match decides. A forward action then
//! picks a target group by weight (or by the `AWSALBTG` cookie), and a target within it by the
//! group's algorithm (or its stickiness cookie), preferring healthy targets and failing open to
//! every routable target when fewer than the group's minimum are healthy.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use crate::conditions;
use crate::snapshot::{
    ActionRoutes, Algorithm, FixedResponse, ForwardRoute, GroupRef, ListenerProtocol, ListenerRoutes,
    Redirect, RouteHealth, RoutingSnapshot, RuleRoutes, Stickiness, TargetGroupRoutes, TargetRoute,
};
use crate::sticky;

/// What the router reads of a request.
pub trait RequestView {
    fn method(&self) -> &str;
    /// The Host header (or HTTP/2 `:authority`) without its port.
    fn host(&self) -> Option<&str>;
    /// The path, without the query string, as sent (percent-encoded).
    fn path(&self) -> &str;
    /// The raw query string, without `?`.
    fn query(&self) -> Option<&str>;
    /// Every value of header `name` (given in lower case).
    fn header_values<'a>(&'a self, name: &str) -> Box<dyn Iterator<Item = &'a str> + 'a>;
    fn source_ip(&self) -> IpAddr;
    /// The value of cookie `name` from the Cookie headers.
    fn cookie(&self, name: &str) -> Option<&str>;
}

/// What to do with a request.
#[derive(Debug)]
pub enum RouteDecision<'s> {
    Forward(ForwardDecision<'s>),
    /// The chosen target group has no target that may receive traffic: the ALB answers 503.
    NoTarget {
        group: Option<GroupRef>,
    },
    Fixed(&'s FixedResponse),
    Redirect {
        location: String,
        status_code: u16,
    },
}

#[derive(Debug)]
pub struct ForwardDecision<'s> {
    pub group: GroupRef,
    pub target_index: usize,
    pub target: &'s TargetRoute,
    /// `Set-Cookie` header values to add to the response (stickiness cookies).
    pub set_cookies: Vec<String>,
}

/// Routes `request` arriving on `listener` (a listener of a load balancer in `snapshot`).
///
/// The only side effects are on the snapshot's atomic positions (`ForwardRoute::next`,
/// `TargetGroupRoutes::next`); the caller counts `TargetRoute::outstanding` around forwarding.
pub fn route<'s, R: RequestView + ?Sized>(
    snapshot: &'s RoutingSnapshot,
    listener: &'s ListenerRoutes,
    request: &R,
) -> RouteDecision<'s> {
    match matching_actions(listener, request) {
        ActionRoutes::Forward(forward) => route_forward(snapshot, forward, request),
        ActionRoutes::FixedResponse(fixed) => RouteDecision::Fixed(fixed),
        ActionRoutes::Redirect(redirect) => {
            let fallback_host;
            let host = match request.host() {
                Some(host) => host,
                None => {
                    // HTTP/1.0 without Host: the load balancer's own name.
                    fallback_host = snapshot
                        .listener(&listener.arn)
                        .map(|(lb, _)| lb.dns_name.clone())
                        .unwrap_or_default();
                    &fallback_host
                }
            };
            RouteDecision::Redirect {
                location: redirect_location(
                    redirect,
                    listener.protocol,
                    listener.port,
                    host,
                    request.path(),
                    request.query(),
                ),
                status_code: redirect.status_code,
            }
        }
    }
}

/// The first rule (in the listener's priority order) whose conditions all match, or `None` when
/// the default rule applies.
pub fn matching_rule<'s, R: RequestView + ?Sized>(
    listener: &'s ListenerRoutes,
    request: &R,
) -> Option<&'s RuleRoutes> {
    listener
        .rules
        .iter()
        .find(|rule| conditions::all_match(&rule.conditions, request))
}

/// The actions that decide `request`: the first matching rule's, else the default rule's.
pub fn matching_actions<'s, R: RequestView + ?Sized>(
    listener: &'s ListenerRoutes,
    request: &R,
) -> &'s ActionRoutes {
    matching_rule(listener, request).map_or(&listener.default_actions, |rule| &rule.actions)
}

/// The `Location` of a redirect: each configured part with `#{protocol}`, `#{host}`, `#{port}`,
/// `#{path}` and `#{query}` replaced by the request's (`#{path}` without its leading `/`, as AWS
/// documents, so the default path `/#{path}` keeps the request's path). The scheme is lower case,
/// the port is left out when it is the scheme's default, the path always starts with `/`, and the
/// query follows a `?` only when it is not empty.
///
/// `host` is the request's host without port; `query` the raw query without `?`.
pub fn redirect_location(
    redirect: &Redirect,
    listener_protocol: ListenerProtocol,
    listener_port: u16,
    host: &str,
    path: &str,
    query: Option<&str>,
) -> String {
    let request_scheme = match listener_protocol {
        ListenerProtocol::Https => "https",
        ListenerProtocol::Http | ListenerProtocol::Tcp => "http",
    };
    let listener_port = listener_port.to_string();
    let vars = RedirectVars {
        protocol: request_scheme,
        host,
        port: &listener_port,
        path: path.strip_prefix('/').unwrap_or(path),
        query: query.unwrap_or(""),
    };

    let scheme = vars.expand(&redirect.protocol).trim().to_ascii_lowercase();
    let scheme = if scheme.is_empty() {
        request_scheme.to_string()
    } else {
        scheme
    };
    let host = vars.expand(&redirect.host);
    let host = if host.is_empty() {
        vars.host.to_string()
    } else {
        host
    };
    let port = vars.expand(&redirect.port);
    let port = port.trim();
    let default_port = match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    let omit_port = port.is_empty() || port.parse::<u16>().ok().is_some_and(|p| Some(p) == default_port);
    let path = vars.expand(&redirect.path);
    let query = vars.expand(&redirect.query);
    let query = query.strip_prefix('?').unwrap_or(&query);

    let mut location = format!("{scheme}://{host}");
    if !omit_port {
        location.push(':');
        location.push_str(port);
    }
    if !path.starts_with('/') {
        location.push('/');
    }
    location.push_str(&path);
    if !query.is_empty() {
        location.push('?');
        location.push_str(query);
    }
    location
}

struct RedirectVars<'a> {
    protocol: &'a str,
    host: &'a str,
    port: &'a str,
    path: &'a str,
    query: &'a str,
}

impl RedirectVars<'_> {
    /// `template` with every known `#{name}` replaced, in one pass (replacements are not expanded
    /// again); unknown `#{…}` stay as written.
    fn expand(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("#{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let replaced = after.find('}').and_then(|end| {
                let value = match &after[..end] {
                    "protocol" => self.protocol,
                    "host" => self.host,
                    "port" => self.port,
                    "path" => self.path,
                    "query" => self.query,
                    _ => return None,
                };
                Some((value, end))
            });
            match replaced {
                Some((value, end)) => {
                    out.push_str(value);
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str("#{");
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

fn route_forward<'s, R: RequestView + ?Sized>(
    snapshot: &'s RoutingSnapshot,
    forward: &'s ForwardRoute,
    request: &R,
) -> RouteDecision<'s> {
    let Some(group) = pick_group(snapshot, forward, request) else {
        return RouteDecision::NoTarget { group: None };
    };
    let Some(target_group) = snapshot.target_groups.get(group) else {
        return RouteDecision::NoTarget { group: Some(group) };
    };
    let Some((target_index, target_cookie)) = pick_target(target_group, request) else {
        return RouteDecision::NoTarget { group: Some(group) };
    };
    let mut set_cookies = Vec::new();
    if let Some(duration_s) = forward.group_stickiness_s {
        set_cookies.push(sticky::set_cookie(
            sticky::GROUP_COOKIE,
            &sticky::group_token(&target_group.arn),
            duration_s,
        ));
    }
    set_cookies.extend(target_cookie);
    RouteDecision::Forward(ForwardDecision {
        group,
        target_index,
        target: &target_group.targets[target_index],
        set_cookies,
    })
}

/// The target group a forward action sends `request` to: the one its `AWSALBTG` cookie names
/// (when target-group stickiness is on and that group still has weight), else the next one in the
/// weighted schedule. `None` when every weight is 0.
pub fn pick_group<R: RequestView + ?Sized>(
    snapshot: &RoutingSnapshot,
    forward: &ForwardRoute,
    request: &R,
) -> Option<GroupRef> {
    if forward.group_stickiness_s.is_some()
        && let Some(token) = request.cookie(sticky::GROUP_COOKIE)
        && let Some(sticky_group) = forward.groups.iter().find(|g| {
            g.weight > 0
                && snapshot
                    .target_groups
                    .get(g.group)
                    .is_some_and(|tg| sticky::group_token(&tg.arn) == token)
        })
    {
        return Some(sticky_group.group);
    }
    if forward.schedule.is_empty() {
        return None;
    }
    let position = forward.next.fetch_add(1, Ordering::Relaxed);
    let slot = forward.schedule[index_mod(position, forward.schedule.len())];
    forward.groups.get(usize::from(slot)).map(|g| g.group)
}

/// The target of `group` that receives `request`, as an index into `group.targets`, with the
/// stickiness `Set-Cookie` value to add to the response when the group is sticky. `None` when the
/// group has no target.
///
/// Candidates are the healthy targets when there are at least `max(min_healthy_targets, 1)` of
/// them; otherwise the group fails open and every listed target (initial and unhealthy too) is a
/// candidate. A stickiness cookie naming a candidate wins; else the group's algorithm decides.
pub fn pick_target<R: RequestView + ?Sized>(
    group: &TargetGroupRoutes,
    request: &R,
) -> Option<(usize, Option<String>)> {
    // Counted, not collected: this runs once per request.
    let healthy = group
        .targets
        .iter()
        .filter(|t| t.health == RouteHealth::Healthy)
        .count();
    let threshold = usize::try_from(group.min_healthy_targets.max(1)).unwrap_or(usize::MAX);
    let candidates = if healthy >= threshold {
        Candidates {
            group,
            healthy_only: true,
            len: healthy,
        }
    } else {
        Candidates {
            group,
            healthy_only: false,
            len: group.targets.len(),
        }
    };
    if candidates.len == 0 {
        return None;
    }

    let sticky_cookie = match &group.stickiness {
        Some(Stickiness::LbCookie { duration_s }) => Some((sticky::TARGET_COOKIE, *duration_s)),
        Some(Stickiness::AppCookie { duration_s, .. }) => Some((sticky::APP_COOKIE, *duration_s)),
        None => None,
    };
    let token_of = |index: usize| {
        let target = &group.targets[index];
        sticky::target_token(&target.id, target.port)
    };
    let stuck = sticky_cookie
        .and_then(|(name, _)| request.cookie(name))
        .and_then(|token| candidates.iter().find(|&i| token_of(i) == token));

    let index = match stuck {
        Some(index) => index,
        None => pick_by_algorithm(group, &candidates),
    };
    let cookie =
        sticky_cookie.map(|(name, duration_s)| sticky::set_cookie(name, &token_of(index), duration_s));
    Some((index, cookie))
}

/// The candidate targets of a group, as indices into `group.targets` in their order: the healthy
/// ones, or every one when the group fails open. Indexed without collecting them.
struct Candidates<'g> {
    group: &'g TargetGroupRoutes,
    healthy_only: bool,
    len: usize,
}

impl Candidates<'_> {
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.group
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| !self.healthy_only || t.health == RouteHealth::Healthy)
            .map(|(i, _)| i)
    }

    /// The `nth` candidate (`nth < len`).
    fn get(&self, nth: usize) -> usize {
        if self.healthy_only {
            self.iter().nth(nth).unwrap_or(0)
        } else {
            nth
        }
    }
}

/// One of `candidates` (non-empty) by the group's algorithm.
fn pick_by_algorithm(group: &TargetGroupRoutes, candidates: &Candidates<'_>) -> usize {
    let position = group.next.fetch_add(1, Ordering::Relaxed);
    let len = candidates.len;
    match group.algorithm {
        Algorithm::RoundRobin => candidates.get(index_mod(position, len)),
        Algorithm::LeastOutstandingRequests => {
            // Start at the round-robin position so that ties rotate instead of piling on the first:
            // the candidates from `start` on, then the ones before it.
            let start = index_mod(position, len);
            let mut best = None;
            let mut best_outstanding = 0;
            for index in candidates.iter().skip(start).chain(candidates.iter().take(start)) {
                let outstanding = group.targets[index].outstanding.load(Ordering::Relaxed);
                if best.is_none() || outstanding < best_outstanding {
                    best = Some(index);
                    best_outstanding = outstanding;
                }
            }
            best.unwrap_or(0)
        }
        Algorithm::WeightedRandom => {
            let draw = splitmix64(group.seed ^ position);
            // Multiply-shift: uniform over the candidates without a modulo's bias towards the front.
            let slot = (u128::from(draw) * len as u128) >> 64;
            candidates.get(usize::try_from(slot).unwrap_or(0))
        }
    }
}

/// `position % len` as an index (`len > 0`).
fn index_mod(position: u64, len: usize) -> usize {
    usize::try_from(position % len as u64).unwrap_or(0)
}

/// SplitMix64's output function: a well-mixed 64-bit value from any input.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Condition, QueryPair};
    use crate::test_support::{TestRequest, forward, group, listener, rule, snapshot, target};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn fixed(status_code: u16) -> ActionRoutes {
        ActionRoutes::FixedResponse(FixedResponse {
            status_code,
            content_type: Some("text/plain".into()),
            body: Some(format!("fixed {status_code}")),
        })
    }

    fn redirect(
        protocol: &str,
        host: &str,
        port: &str,
        path: &str,
        query: &str,
        status_code: u16,
    ) -> Redirect {
        Redirect {
            protocol: protocol.into(),
            host: host.into(),
            port: port.into(),
            path: path.into(),
            query: query.into(),
            status_code,
        }
    }

    fn healthy_targets(n: usize) -> Vec<TargetRoute> {
        (0..n)
            .map(|i| {
                target(
                    &format!("10.0.0.{}", i + 1),
                    8080,
                    "us-east-1a",
                    RouteHealth::Healthy,
                )
            })
            .collect()
    }

    fn forwarded<'s>(decision: RouteDecision<'s>) -> ForwardDecision<'s> {
        match decision {
            RouteDecision::Forward(decision) => decision,
            other => panic!("expected a forward, got {other:?}"),
        }
    }

    fn fixed_status(decision: &RouteDecision<'_>) -> Option<u16> {
        match decision {
            RouteDecision::Fixed(fixed) => Some(fixed.status_code),
            _ => None,
        }
    }

    fn cookie_token(set_cookies: &[String], name: &str) -> Option<String> {
        set_cookies.iter().find_map(|c| {
            let rest = c.strip_prefix(name)?.strip_prefix('=')?;
            Some(rest.split(';').next().unwrap_or_default().to_string())
        })
    }

    #[test]
    fn rules_are_evaluated_in_order_and_the_first_match_wins() {
        let rules = vec![
            rule(5, vec![Condition::PathPattern(vec!["/api/*".into()])], fixed(201)),
            rule(
                10,
                vec![Condition::PathPattern(vec!["/api/v2/*".into()])],
                fixed(202),
            ),
            rule(
                20,
                vec![
                    Condition::HostHeader(vec!["admin.*".into()]),
                    Condition::HttpRequestMethod(vec!["POST".into()]),
                ],
                fixed(203),
            ),
        ];
        let l = listener(80, rules, fixed(404));
        let s = snapshot(vec![], vec![]);
        let r = |req: &TestRequest| fixed_status(&route(&s, &l, req));
        assert_eq!(
            r(&TestRequest::get("h", "/api/v2/x")),
            Some(201),
            "lower priority number first"
        );
        assert_eq!(
            r(&TestRequest::get("h", "/other")),
            Some(404),
            "default rule last"
        );
        assert_eq!(
            r(&TestRequest::get("admin.example.com", "/")),
            Some(404),
            "conditions are ANDed"
        );
        assert_eq!(
            r(&TestRequest::get("admin.example.com", "/").method("POST")),
            Some(203)
        );
        assert_eq!(
            matching_rule(&l, &TestRequest::get("h", "/api/x")).map(|r| r.priority),
            Some(5)
        );
        assert!(matching_rule(&l, &TestRequest::get("h", "/")).is_none());
    }

    #[test]
    fn a_rule_without_conditions_matches_everything() {
        let l = listener(80, vec![rule(1, vec![], fixed(200))], fixed(404));
        let s = snapshot(vec![], vec![]);
        assert_eq!(
            fixed_status(&route(&s, &l, &TestRequest::get("h", "/anything"))),
            Some(200)
        );
    }

    #[test]
    fn query_string_conditions_route() {
        let rules = vec![rule(
            1,
            vec![Condition::QueryString(vec![QueryPair {
                key: Some("env".into()),
                value: "green".into(),
            }])],
            fixed(299),
        )];
        let l = listener(80, rules, fixed(404));
        let s = snapshot(vec![], vec![]);
        assert_eq!(
            fixed_status(&route(&s, &l, &TestRequest::get("h", "/?env=GREEN"))),
            Some(299)
        );
        assert_eq!(
            fixed_status(&route(&s, &l, &TestRequest::get("h", "/?env=blue"))),
            Some(404)
        );
    }

    #[test]
    fn fixed_responses_are_returned_as_configured() {
        let l = listener(80, vec![], fixed(503));
        let s = snapshot(vec![], vec![]);
        match route(&s, &l, &TestRequest::get("h", "/")) {
            RouteDecision::Fixed(fixed) => {
                assert_eq!(fixed.status_code, 503);
                assert_eq!(fixed.body.as_deref(), Some("fixed 503"));
                assert_eq!(fixed.content_type.as_deref(), Some("text/plain"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// The Location for a redirect configured as `config` (protocol, host, port, path, query) of a
    /// request to `host` with `path_and_query` on a listener `protocol`/`port`.
    fn location(
        config: [&str; 5],
        protocol: ListenerProtocol,
        port: u16,
        host: &str,
        path_and_query: &str,
    ) -> String {
        let [c_protocol, c_host, c_port, c_path, c_query] = config;
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let r = redirect(c_protocol, c_host, c_port, c_path, c_query, 301);
        redirect_location(&r, protocol, port, host, path, query)
    }

    #[test]
    fn redirect_locations() {
        use ListenerProtocol::{Http, Https};
        let keep = ["#{protocol}", "#{host}", "#{port}", "/#{path}", "#{query}"];
        let to_https = ["HTTPS", "#{host}", "443", "/#{path}", "#{query}"];
        // http → https, default port dropped, path and query kept
        assert_eq!(
            location(to_https, Http, 80, "example.com", "/a/b?x=1"),
            "https://example.com/a/b?x=1"
        );
        // keep everything: port 80 on http is left out, the default path keeps the request's
        assert_eq!(
            location(keep, Http, 80, "example.com", "/"),
            "http://example.com/"
        );
        assert_eq!(
            location(keep, Http, 80, "example.com", "/a/b/"),
            "http://example.com/a/b/"
        );
        // a non-default listener port is kept; an empty query adds no '?'
        assert_eq!(
            location(keep, Http, 8080, "example.com", "/p?"),
            "http://example.com:8080/p"
        );
        // https listener on 443
        assert_eq!(
            location(keep, Https, 443, "example.com", "/p"),
            "https://example.com/p"
        );
        // #{port} of an http listener redirected to https keeps the listener's port
        let https_same_port = ["HTTPS", "#{host}", "#{port}", "/#{path}", "#{query}"];
        assert_eq!(location(https_same_port, Http, 80, "h", "/"), "https://h:80/");
        // host and path rewritten, query extended
        let rewrite = [
            "#{protocol}",
            "new.#{host}",
            "#{port}",
            "/v2/#{path}",
            "#{query}&src=old",
        ];
        assert_eq!(
            location(rewrite, Http, 80, "example.com", "/items/7?a=b"),
            "http://new.example.com/v2/items/7?a=b&src=old"
        );
        // the query dropped
        let no_query = ["#{protocol}", "#{host}", "#{port}", "/#{path}", ""];
        assert_eq!(location(no_query, Http, 80, "h", "/x?q=1"), "http://h/x");
        // a path without a leading slash gets one
        let bare_path = ["#{protocol}", "#{host}", "#{port}", "#{path}", "#{query}"];
        assert_eq!(location(bare_path, Http, 80, "h", "/x/y"), "http://h/x/y");
        // protocol lower-cased, explicit port kept, variables in the path
        let explicit = ["HTTP", "other", "8443", "/#{host}/#{port}/#{path}", "#{query}"];
        assert_eq!(
            location(explicit, Https, 443, "h", "/p"),
            "http://other:8443/h/443/p"
        );
        // unknown variables stay as written; replacements are not expanded again
        let unknown = [
            "#{protocol}",
            "#{host}",
            "#{port}",
            "/#{nope}/#{path}",
            "#{query}",
        ];
        assert_eq!(
            location(unknown, Http, 80, "h", "/#{host}"),
            "http://h/#{nope}/#{host}"
        );
        // an explicit 443 on https is the default port
        let https_443 = ["HTTPS", "secure.example.com", "443", "/", "#{query}"];
        assert_eq!(
            location(https_443, Https, 8443, "h", "/x?y=z"),
            "https://secure.example.com/?y=z"
        );
    }

    #[test]
    fn redirect_decisions_carry_the_status_code() {
        let action = ActionRoutes::Redirect(redirect("HTTPS", "#{host}", "443", "/#{path}", "#{query}", 302));
        let l = listener(80, vec![], action);
        let s = snapshot(vec![], vec![]);
        match route(&s, &l, &TestRequest::get("example.com", "/login?next=%2F")) {
            RouteDecision::Redirect {
                location,
                status_code,
            } => {
                assert_eq!(location, "https://example.com/login?next=%2F");
                assert_eq!(status_code, 302);
            }
            other => panic!("{other:?}"),
        }
        // Without a Host header, the load balancer's own name is used.
        let mut no_host = TestRequest::get("x", "/");
        no_host.host = None;
        let s = snapshot(vec![], vec![listener(80, vec![], fixed(200))]);
        let l = listener(
            80,
            vec![],
            ActionRoutes::Redirect(redirect("HTTPS", "#{host}", "443", "/#{path}", "#{query}", 301)),
        );
        match route(&s, &l, &no_host) {
            RouteDecision::Redirect { location, .. } => {
                assert_eq!(location, "https://web-1234567890.us-east-1.elb.localhost/");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn weights_75_25_split_10000_requests_exactly() {
        let s = snapshot(
            vec![
                group("blue", healthy_targets(2)),
                group("green", healthy_targets(3)),
            ],
            vec![],
        );
        let l = listener(80, vec![], forward(&[(0, 75), (1, 25)], None));
        let mut per_group = [0_u32; 2];
        for _ in 0..10_000 {
            let decision = forwarded(route(&s, &l, &TestRequest::get("h", "/")));
            per_group[decision.group] += 1;
            assert!(decision.set_cookies.is_empty());
        }
        assert_eq!(per_group, [7_500, 2_500]);
    }

    #[test]
    fn a_weight_0_group_is_never_chosen() {
        let s = snapshot(
            vec![
                group("blue", healthy_targets(1)),
                group("green", healthy_targets(1)),
            ],
            vec![],
        );
        let l = listener(80, vec![], forward(&[(0, 0), (1, 1)], Some(3600)));
        for _ in 0..100 {
            assert_eq!(forwarded(route(&s, &l, &TestRequest::get("h", "/"))).group, 1);
        }
        // Not even when a stickiness cookie names it.
        let cookie = sticky::group_token(&s.target_groups[0].arn);
        let request = TestRequest::get("h", "/").cookie(sticky::GROUP_COOKIE, &cookie);
        assert_eq!(forwarded(route(&s, &l, &request)).group, 1);
    }

    #[test]
    fn all_zero_weights_route_nowhere() {
        let s = snapshot(vec![group("blue", healthy_targets(1))], vec![]);
        let l = listener(80, vec![], forward(&[(0, 0)], None));
        assert!(matches!(
            route(&s, &l, &TestRequest::get("h", "/")),
            RouteDecision::NoTarget { group: None }
        ));
    }

    #[test]
    fn an_empty_group_routes_nowhere() {
        let s = snapshot(vec![group("blue", vec![])], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        assert!(matches!(
            route(&s, &l, &TestRequest::get("h", "/")),
            RouteDecision::NoTarget { group: Some(0) }
        ));
        // A group reference past the snapshot's groups behaves like an empty group.
        let l = listener(80, vec![], forward(&[(7, 1)], None));
        assert!(matches!(
            route(&s, &l, &TestRequest::get("h", "/")),
            RouteDecision::NoTarget { group: Some(7) }
        ));
    }

    #[test]
    fn group_stickiness_keeps_a_client_on_its_group() {
        let s = snapshot(
            vec![
                group("blue", healthy_targets(2)),
                group("green", healthy_targets(2)),
            ],
            vec![],
        );
        let l = listener(80, vec![], forward(&[(0, 50), (1, 50)], Some(600)));
        let first = forwarded(route(&s, &l, &TestRequest::get("h", "/")));
        let token = cookie_token(&first.set_cookies, sticky::GROUP_COOKIE).expect("AWSALBTG set");
        assert_eq!(token, sticky::group_token(&s.target_groups[first.group].arn));
        assert!(
            first
                .set_cookies
                .iter()
                .any(|c| c.contains("Max-Age=600; Path=/"))
        );
        let request = TestRequest::get("h", "/").cookie(sticky::GROUP_COOKIE, &token);
        for _ in 0..50 {
            let again = forwarded(route(&s, &l, &request));
            assert_eq!(again.group, first.group);
            assert_eq!(
                cookie_token(&again.set_cookies, sticky::GROUP_COOKIE),
                Some(token.clone())
            );
        }
        // An unknown token falls back to the weights.
        let stranger = TestRequest::get("h", "/").cookie(sticky::GROUP_COOKIE, "nonsense");
        let groups: Vec<GroupRef> = (0..4)
            .map(|_| forwarded(route(&s, &l, &stranger)).group)
            .collect();
        assert!(groups.contains(&0) && groups.contains(&1), "{groups:?}");
    }

    #[test]
    fn group_cookies_are_ignored_without_group_stickiness() {
        let s = snapshot(
            vec![
                group("blue", healthy_targets(1)),
                group("green", healthy_targets(1)),
            ],
            vec![],
        );
        let l = listener(80, vec![], forward(&[(0, 1), (1, 1)], None));
        let token = sticky::group_token(&s.target_groups[0].arn);
        let request = TestRequest::get("h", "/").cookie(sticky::GROUP_COOKIE, &token);
        let groups: Vec<GroupRef> = (0..4).map(|_| forwarded(route(&s, &l, &request)).group).collect();
        assert_eq!(groups, vec![0, 1, 0, 1]);
    }

    #[test]
    fn round_robin_cycles_through_healthy_targets() {
        let mut targets = healthy_targets(3);
        targets.push(target("10.0.0.9", 8080, "us-east-1b", RouteHealth::Unhealthy));
        targets.push(target("10.0.0.10", 8080, "us-east-1b", RouteHealth::Initial));
        let s = snapshot(vec![group("blue", targets)], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let picks: Vec<usize> = (0..6)
            .map(|_| forwarded(route(&s, &l, &TestRequest::get("h", "/"))).target_index)
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn all_unhealthy_fails_open_to_every_target() {
        let targets = vec![
            target("10.0.0.1", 80, "us-east-1a", RouteHealth::Unhealthy),
            target("10.0.0.2", 80, "us-east-1a", RouteHealth::Initial),
            target("10.0.0.3", 80, "us-east-1b", RouteHealth::Unhealthy),
        ];
        let s = snapshot(vec![group("blue", targets)], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let picks: Vec<usize> = (0..3)
            .map(|_| forwarded(route(&s, &l, &TestRequest::get("h", "/"))).target_index)
            .collect();
        assert_eq!(picks, vec![0, 1, 2]);
    }

    #[test]
    fn below_the_minimum_healthy_count_the_group_fails_open() {
        let mut targets = healthy_targets(1);
        targets.push(target("10.0.0.9", 80, "us-east-1a", RouteHealth::Unhealthy));
        let mut g = group("blue", targets);
        g.min_healthy_targets = 2;
        let s = snapshot(vec![g], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let picks: Vec<usize> = (0..2)
            .map(|_| forwarded(route(&s, &l, &TestRequest::get("h", "/"))).target_index)
            .collect();
        assert_eq!(picks, vec![0, 1]);
    }

    #[test]
    fn least_outstanding_requests_picks_the_least_busy_target() {
        let mut g = group("blue", healthy_targets(3));
        g.algorithm = Algorithm::LeastOutstandingRequests;
        g.targets[0].outstanding.store(5, Ordering::Relaxed);
        g.targets[1].outstanding.store(1, Ordering::Relaxed);
        g.targets[2].outstanding.store(3, Ordering::Relaxed);
        let s = snapshot(vec![g], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        for _ in 0..5 {
            assert_eq!(
                forwarded(route(&s, &l, &TestRequest::get("h", "/"))).target_index,
                1
            );
        }
        // Ties rotate.
        for t in &s.target_groups[0].targets {
            t.outstanding.store(0, Ordering::Relaxed);
        }
        let mut picks: Vec<usize> = (0..3)
            .map(|_| forwarded(route(&s, &l, &TestRequest::get("h", "/"))).target_index)
            .collect();
        picks.sort_unstable();
        assert_eq!(picks, vec![0, 1, 2]);
    }

    #[test]
    fn weighted_random_is_deterministic_and_spreads() {
        let build = || {
            let mut g = group("blue", healthy_targets(4));
            g.algorithm = Algorithm::WeightedRandom;
            snapshot(vec![g], vec![])
        };
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let run = |s: &RoutingSnapshot| -> Vec<usize> {
            (0..400)
                .map(|_| forwarded(route(s, &l, &TestRequest::get("h", "/"))).target_index)
                .collect()
        };
        let (a, b) = (run(&build()), run(&build()));
        assert_eq!(a, b);
        let mut counts = BTreeMap::new();
        for i in a {
            *counts.entry(i).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 4);
        assert!(counts.values().all(|&c| c > 60), "{counts:?}");
    }

    #[test]
    fn lb_cookie_stickiness_returns_the_same_target() {
        let mut g = group("blue", healthy_targets(3));
        g.stickiness = Some(Stickiness::LbCookie { duration_s: 86_400 });
        let s = snapshot(vec![g], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let first = forwarded(route(&s, &l, &TestRequest::get("h", "/")));
        let token = cookie_token(&first.set_cookies, sticky::TARGET_COOKIE).expect("AWSALB set");
        assert!(
            first
                .set_cookies
                .contains(&format!("AWSALB={token}; Max-Age=86400; Path=/"))
        );
        let request = TestRequest::get("h", "/").cookie(sticky::TARGET_COOKIE, &token);
        for _ in 0..10 {
            let again = forwarded(route(&s, &l, &request));
            assert_eq!(again.target_index, first.target_index);
            assert_eq!(
                cookie_token(&again.set_cookies, sticky::TARGET_COOKIE),
                Some(token.clone())
            );
        }
    }

    #[test]
    fn a_sticky_target_that_turned_unhealthy_is_replaced() {
        let mut g = group("blue", healthy_targets(2));
        g.stickiness = Some(Stickiness::LbCookie { duration_s: 60 });
        g.targets[0].health = RouteHealth::Unhealthy;
        let s = snapshot(vec![g], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let token = sticky::target_token("10.0.0.1", 8080);
        let request = TestRequest::get("h", "/").cookie(sticky::TARGET_COOKIE, &token);
        let decision = forwarded(route(&s, &l, &request));
        assert_eq!(decision.target_index, 1);
        assert_eq!(
            cookie_token(&decision.set_cookies, sticky::TARGET_COOKIE),
            Some(sticky::target_token("10.0.0.2", 8080))
        );
    }

    #[test]
    fn app_cookie_stickiness_uses_awsalbapp() {
        let mut g = group("blue", healthy_targets(3));
        g.stickiness = Some(Stickiness::AppCookie {
            cookie_name: "SESSION".into(),
            duration_s: 120,
        });
        let s = snapshot(vec![g], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let token = sticky::target_token("10.0.0.3", 8080);
        let request = TestRequest::get("h", "/").cookie(sticky::APP_COOKIE, &token);
        for _ in 0..5 {
            let decision = forwarded(route(&s, &l, &request));
            assert_eq!(decision.target_index, 2);
            assert!(
                decision
                    .set_cookies
                    .contains(&format!("AWSALBAPP-0={token}; Max-Age=120; Path=/"))
            );
        }
    }

    #[test]
    fn group_and_target_stickiness_combine() {
        let mut blue = group("blue", healthy_targets(2));
        blue.stickiness = Some(Stickiness::LbCookie { duration_s: 30 });
        let s = snapshot(vec![blue, group("green", healthy_targets(2))], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1), (1, 1)], Some(300)));
        let request = TestRequest::get("h", "/")
            .cookie(
                sticky::GROUP_COOKIE,
                &sticky::group_token(&s.target_groups[0].arn),
            )
            .cookie(sticky::TARGET_COOKIE, &sticky::target_token("10.0.0.2", 8080));
        let decision = forwarded(route(&s, &l, &request));
        assert_eq!((decision.group, decision.target_index), (0, 1));
        assert_eq!(decision.set_cookies.len(), 2);
        assert!(decision.set_cookies[0].starts_with("AWSALBTG="));
        assert!(decision.set_cookies[1].starts_with("AWSALB="));
    }

    #[test]
    fn the_decision_points_at_the_snapshot_target() {
        let s = snapshot(vec![group("blue", healthy_targets(2))], vec![]);
        let l = listener(80, vec![], forward(&[(0, 1)], None));
        let decision = forwarded(route(&s, &l, &TestRequest::get("h", "/")));
        assert!(std::ptr::eq(
            decision.target,
            &s.target_groups[0].targets[decision.target_index]
        ));
        // The router leaves outstanding counts to the proxy.
        assert_eq!(decision.target.outstanding.load(Ordering::Relaxed), 0);
    }

    fn health_strategy() -> impl Strategy<Value = RouteHealth> {
        prop_oneof![
            Just(RouteHealth::Initial),
            Just(RouteHealth::Healthy),
            Just(RouteHealth::Unhealthy)
        ]
    }

    fn algorithm_strategy() -> impl Strategy<Value = Algorithm> {
        prop_oneof![
            Just(Algorithm::RoundRobin),
            Just(Algorithm::LeastOutstandingRequests),
            Just(Algorithm::WeightedRandom),
        ]
    }

    proptest! {
        #[test]
        fn chosen_targets_belong_to_the_group_and_prefer_healthy(
            groups in proptest::collection::vec(
                (proptest::collection::vec((health_strategy(), 0_u32..4), 0..6), 0_u32..4, algorithm_strategy(), 0_u32..5),
                1..4,
            ),
            sticky_target in proptest::option::of(0_usize..6),
            requests in 1_usize..20,
        ) {
            let target_groups: Vec<TargetGroupRoutes> = groups
                .iter()
                .enumerate()
                .map(|(gi, (targets, min_healthy, algorithm, _))| {
                    let targets = targets
                        .iter()
                        .enumerate()
                        .map(|(ti, &(health, outstanding))| {
                            let t = target(&format!("10.{gi}.0.{ti}"), 80, "us-east-1a", health);
                            t.outstanding.store(outstanding, Ordering::Relaxed);
                            t
                        })
                        .collect();
                    let mut g = group(&format!("g{gi}"), targets);
                    g.min_healthy_targets = *min_healthy;
                    g.algorithm = *algorithm;
                    g.stickiness = Some(Stickiness::LbCookie { duration_s: 60 });
                    g
                })
                .collect();
            let weights: Vec<(GroupRef, u32)> = groups.iter().enumerate().map(|(i, g)| (i, g.3)).collect();
            let s = snapshot(target_groups, vec![]);
            let l = listener(80, vec![], forward(&weights, Some(60)));
            let mut request = TestRequest::get("h", "/");
            if let Some(ti) = sticky_target {
                request = request.cookie(sticky::TARGET_COOKIE, &sticky::target_token(&format!("10.0.0.{ti}"), 80));
            }
            for _ in 0..requests {
                match route(&s, &l, &request) {
                    RouteDecision::Forward(d) => {
                        let g = &s.target_groups[d.group];
                        prop_assert!(weights[d.group].1 > 0);
                        prop_assert!(d.target_index < g.targets.len());
                        prop_assert!(std::ptr::eq(d.target, &g.targets[d.target_index]));
                        let healthy = g.targets.iter().filter(|t| t.health == RouteHealth::Healthy).count();
                        if healthy >= g.min_healthy_targets.max(1) as usize {
                            prop_assert_eq!(d.target.health, RouteHealth::Healthy);
                        }
                    }
                    RouteDecision::NoTarget { group: Some(gi) } => {
                        prop_assert!(s.target_groups[gi].targets.is_empty());
                    }
                    RouteDecision::NoTarget { group: None } => {
                        prop_assert!(weights.iter().all(|w| w.1 == 0));
                    }
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
    }
}

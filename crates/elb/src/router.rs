//! Routing one request through a listener exactly as an ALB does: rules in ascending priority,
//! the default rule last; the first rule whose conditions all match decides. A forward action then
//! picks a target group by weight (or by the `AWSALBTG` cookie), and a target within it by the
//! group's algorithm (or its stickiness cookie), preferring healthy targets and failing open to
//! every routable target when fewer than the group's minimum are healthy.

use std::net::IpAddr;

use crate::snapshot::{FixedResponse, GroupRef, ListenerRoutes, RoutingSnapshot, TargetRoute};

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
    NoTarget { group: Option<GroupRef> },
    Fixed(&'s FixedResponse),
    Redirect { location: String, status_code: u16 },
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
pub fn route<'s, R: RequestView + ?Sized>(
    snapshot: &'s RoutingSnapshot,
    listener: &'s ListenerRoutes,
    request: &R,
) -> RouteDecision<'s> {
    let _ = (snapshot, listener, request);
    todo!("helper A")
}

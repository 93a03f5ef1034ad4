//! ALB rule conditions: wildcard patterns, query strings and source CIDRs.

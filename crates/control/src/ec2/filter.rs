//! EC2 `Filter` lists, wildcard values, id checks and `NextToken` pagination for the Describe calls.
//!
//! Pure functions over strings: they know no resource and never change the world.

use ecsim_api::ec2 as api;
use ecsim_protocol::AwsError;

use crate::network::Tags;

/// Parsed filters: every named filter must match (AND); any value of one filter may match (OR).
#[derive(Debug, Default)]
pub(super) struct Filters {
    items: Vec<(String, Vec<String>)>,
}

impl Filters {
    /// Checks every filter name against `known`. A `known` entry `tag:` admits every `tag:<key>`.
    /// A filter without values is ignored (it cannot select anything by itself).
    pub(super) fn parse(filters: Option<Vec<api::Filter>>, known: &[&str]) -> Result<Self, AwsError> {
        let mut items = Vec::new();
        for filter in filters.unwrap_or_default() {
            let name = filter.name.unwrap_or_default();
            let tag = name.strip_prefix("tag:").is_some_and(|key| !key.is_empty()) && known.contains(&"tag:");
            if !tag && (name == "tag:" || !known.contains(&name.as_str())) {
                let shown = if name.is_empty() { "null" } else { name.as_str() };
                return Err(AwsError::client(
                    "InvalidParameterValue",
                    format!("The filter '{shown}' is invalid"),
                ));
            }
            let values = filter.values.unwrap_or_default();
            if !values.is_empty() {
                items.push((name, values));
            }
        }
        Ok(Self { items })
    }

    /// Whether a resource passes: `field(name)` gives the resource's values for a filter name.
    pub(super) fn matches(&self, field: impl Fn(&str) -> Vec<String>) -> bool {
        self.items.iter().all(|(name, patterns)| {
            let values = field(name);
            patterns.iter().any(|p| values.iter().any(|v| wildcard(p, v)))
        })
    }
}

/// The values of the tag filters (`tag:<key>`, `tag-key`, `tag-value`) for a resource's tags;
/// `None` when `name` is not a tag filter.
pub(super) fn tag_values(name: &str, tags: &Tags) -> Option<Vec<String>> {
    if let Some(key) = name.strip_prefix("tag:") {
        return Some(tags.get(key).cloned().into_iter().collect());
    }
    match name {
        "tag-key" => Some(tags.keys().cloned().collect()),
        "tag-value" => Some(tags.values().cloned().collect()),
        _ => None,
    }
}

/// EC2 filter value matching: `*` matches any run of characters, `?` zero or one character, and
/// a backslash makes the next character literal.
pub(super) fn wildcard(pattern: &str, value: &str) -> bool {
    enum Tok {
        Lit(char),
        Star,
        Opt,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            '*' => Tok::Star,
            '?' => Tok::Opt,
            c => Tok::Lit(c),
        });
    }
    let value: Vec<char> = value.chars().collect();
    // reach[j]: the tokens consumed so far can match value[..j].
    let mut reach = vec![false; value.len() + 1];
    reach[0] = true;
    for tok in &toks {
        let mut next = vec![false; value.len() + 1];
        for j in 0..=value.len() {
            if !reach[j] {
                continue;
            }
            match tok {
                Tok::Lit(c) => {
                    if value.get(j) == Some(c) {
                        next[j + 1] = true;
                    }
                }
                Tok::Opt => {
                    next[j] = true;
                    if j < value.len() {
                        next[j + 1] = true;
                    }
                }
                Tok::Star => next[j..].iter_mut().for_each(|n| *n = true),
            }
        }
        reach = next;
    }
    reach[value.len()]
}

/// `"true"`/`"false"` as EC2 filters compare booleans.
pub(super) fn bool_value(b: bool) -> Vec<String> {
    vec![b.to_string()]
}

/// One page of `items` (sorted by their key) after `next_token`, at most `max_results` long, and
/// the token of the next page. Without `max_results` every remaining item is returned.
pub(super) fn paginate<T>(
    items: Vec<(String, T)>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let after = next_token
        .filter(|t| !t.is_empty())
        .map(decode_token)
        .transpose()?;
    let limit = match max_results {
        None => usize::MAX,
        Some(n @ 5..=1000) => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => {
            return Err(AwsError::client(
                "InvalidParameterValue",
                format!(
                    "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000."
                ),
            ));
        }
    };
    let mut rest = items
        .into_iter()
        .filter(|(key, _)| after.as_ref().is_none_or(|a| key > a))
        .peekable();
    let mut page = Vec::new();
    let mut last = None;
    while page.len() < limit {
        let Some((key, item)) = rest.next() else { break };
        page.push(item);
        last = Some(key);
    }
    let token = if rest.peek().is_some() {
        last.map(|k| encode_token(&k))
    } else {
        None
    };
    Ok((page, token))
}

/// Tokens are the hex of the last returned key: opaque, URL-safe and stable across changes.
fn encode_token(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> Result<String, AwsError> {
    let invalid = || {
        AwsError::client(
            "InvalidPaginationToken",
            format!("Invalid pagination token: {token}"),
        )
    };
    if !token.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| token.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// The resources whose ids EC2 checks, with their error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Vpc,
    Subnet,
    Group,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc-",
            Kind::Subnet => "subnet-",
            Kind::Group => "sg-",
        }
    }

    /// `InvalidVpcID.Malformed` for ids that cannot be of this kind (prefix, then 1–17 lowercase
    /// letters or digits: the default topology's subnet ids end in the zone letter).
    pub(super) fn check(self, id: &str) -> Result<(), AwsError> {
        let ok = id.strip_prefix(self.prefix()).is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() <= 17
                && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if ok {
            return Ok(());
        }
        let code = match self {
            Kind::Vpc => "InvalidVpcID.Malformed",
            Kind::Subnet => "InvalidSubnetID.Malformed",
            Kind::Group => "InvalidGroupId.Malformed",
        };
        Err(AwsError::client(
            code,
            format!("Invalid id: \"{id}\" (expecting \"{}...\")", self.prefix()),
        ))
    }

    /// The NotFound error for unknown ids of this kind (one or several).
    pub(super) fn not_found(self, ids: &[&str]) -> AwsError {
        let list = ids.join(", ");
        let plural = ids.len() > 1;
        match self {
            Kind::Vpc if plural => AwsError::client(
                "InvalidVpcID.NotFound",
                format!("The vpc IDs '{list}' do not exist"),
            ),
            Kind::Vpc => AwsError::client(
                "InvalidVpcID.NotFound",
                format!("The vpc ID '{list}' does not exist"),
            ),
            Kind::Subnet if plural => AwsError::client(
                "InvalidSubnetID.NotFound",
                format!("The subnet IDs '{list}' do not exist"),
            ),
            Kind::Subnet => AwsError::client(
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{list}' does not exist"),
            ),
            Kind::Group => AwsError::client(
                "InvalidGroup.NotFound",
                format!("The security group '{list}' does not exist"),
            ),
        }
    }

    /// Checks the shape of every id, then that each is in `exists`; all unknown ids in one error.
    pub(super) fn check_all(self, ids: &[String], exists: impl Fn(&str) -> bool) -> Result<(), AwsError> {
        for id in ids {
            self.check(id)?;
        }
        let missing: Vec<&str> = ids.iter().map(String::as_str).filter(|id| !exists(id)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(self.not_found(&missing))
        }
    }
}

/// The `DryRunOperation` answer AWS gives when `DryRun` is set and the call would succeed.
pub(super) fn dry_run(flag: Option<bool>) -> Result<(), AwsError> {
    if flag == Some(true) {
        Err(AwsError::client(
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        )
        .with_status(412))
    } else {
        Ok(())
    }
}

/// `InvalidParameterCombination` when ids and `MaxResults` come together, as EC2 answers.
pub(super) fn ids_without_paging(
    ids_given: bool,
    param: &str,
    max_results: Option<i32>,
) -> Result<(), AwsError> {
    if ids_given && max_results.is_some() {
        return Err(AwsError::client(
            "InvalidParameterCombination",
            format!("The parameter {param} cannot be used with the parameter maxResults"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_ec2() {
        assert!(wildcard("vpc-*", "vpc-123"));
        assert!(wildcard("*", ""));
        assert!(wildcard("us-east-1?", "us-east-1a"));
        assert!(
            wildcard("us-east-1?", "us-east-1"),
            "? matches zero characters too"
        );
        assert!(!wildcard("us-east-1?", "us-east-1ab"));
        assert!(wildcard("a\\*b", "a*b"));
        assert!(!wildcard("a\\*b", "axb"));
        assert!(wildcard("*web*", "my-web-app"));
        assert!(!wildcard("web", "webs"));
    }

    #[test]
    fn unknown_filter_names_are_refused() {
        let f = |name: &str| {
            vec![api::Filter {
                name: Some(name.into()),
                values: Some(vec!["x".into()]),
            }]
        };
        assert!(Filters::parse(Some(f("vpc-id")), &["vpc-id"]).is_ok());
        assert!(Filters::parse(Some(f("tag:Name")), &["tag:"]).is_ok());
        let err = Filters::parse(Some(f("foo")), &["vpc-id", "tag:"]).unwrap_err();
        assert_eq!(err.code, "InvalidParameterValue");
        assert_eq!(err.message, "The filter 'foo' is invalid");
        assert!(Filters::parse(Some(f("tag:")), &["tag:"]).is_err());
    }

    #[test]
    fn pages_resume_after_the_token() {
        let items: Vec<(String, u32)> = (0..12).map(|i| (format!("k{i:02}"), i)).collect();
        let (page, token) = paginate(items.clone(), Some(5), None).unwrap();
        assert_eq!(page, vec![0, 1, 2, 3, 4]);
        let (page, token) = paginate(items.clone(), Some(5), token.as_deref()).unwrap();
        assert_eq!(page, vec![5, 6, 7, 8, 9]);
        let (page, token) = paginate(items.clone(), Some(5), token.as_deref()).unwrap();
        assert_eq!(page, vec![10, 11]);
        assert!(token.is_none());
        assert_eq!(
            paginate(items.clone(), Some(4), None).unwrap_err().code,
            "InvalidParameterValue"
        );
        assert_eq!(
            paginate(items, None, Some("zz")).unwrap_err().code,
            "InvalidPaginationToken"
        );
    }

    #[test]
    fn ids_are_checked_for_shape_then_existence() {
        assert_eq!(
            Kind::Vpc.check("subnet-1").unwrap_err().code,
            "InvalidVpcID.Malformed"
        );
        assert_eq!(
            Kind::Group.check("sg-").unwrap_err().code,
            "InvalidGroupId.Malformed"
        );
        Kind::Subnet.check("subnet-0ec510000000000a").unwrap();
        let err = Kind::Vpc
            .check_all(&["vpc-1".into(), "vpc-2".into()], |id| id == "vpc-1")
            .unwrap_err();
        assert_eq!(err.message, "The vpc ID 'vpc-2' does not exist");
    }
}

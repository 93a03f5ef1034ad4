//! Path expressions that pick a value out of an API answer, for `capture` and `expect`:
//! `services[0].deployments[-1].rolloutState`, `TargetGroups[TargetGroupName=blue].TargetGroupArn`,
//! `taskArns[*]` (every element), `Rules[*].Actions[0]` (a member of every element). An empty
//! path is the whole answer. Parsing and lookup only.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Member(String),
    Index(i64),
    /// `[name=value]`: the first element whose member `name` (a string, number or boolean)
    /// renders as `value`.
    Filter {
        name: String,
        value: String,
    },
    /// `[*]`: the rest of the path is applied to every element, and the results collected.
    Each,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    segments: Vec<Segment>,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!("path '{text}': {why} (write e.g. services[0].status or Items[Name=web].Arn)")
        };
        let mut segments = Vec::new();
        let mut rest = text.trim();
        let mut first = true;
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('[') {
                let close = inner.find(']').ok_or_else(|| bad("a '[' is not closed"))?;
                let body = inner[..close].trim();
                segments.push(if body == "*" {
                    Segment::Each
                } else if let Ok(i) = body.parse::<i64>() {
                    Segment::Index(i)
                } else if let Some((name, value)) = body.split_once('=') {
                    let value = value.trim().trim_matches(|c| c == '\'' || c == '"');
                    Segment::Filter {
                        name: name.trim().to_string(),
                        value: value.to_string(),
                    }
                } else {
                    return Err(bad("brackets hold an index, * or name=value"));
                });
                rest = &inner[close + 1..];
            } else {
                if !first {
                    rest = rest
                        .strip_prefix('.')
                        .ok_or_else(|| bad("members are joined with '.'"))?;
                }
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let name = &rest[..end];
                if name.is_empty() {
                    return Err(bad("an empty member name"));
                }
                segments.push(Segment::Member(name.to_string()));
                rest = &rest[end..];
            }
            first = false;
        }
        Ok(Self {
            text: text.trim().to_string(),
            segments,
        })
    }

    /// The value at this path, `None` when some step of it is absent.
    pub fn lookup(&self, root: &Value) -> Option<Value> {
        lookup(&self.segments, root)
    }
}

fn renders_as(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        Value::Number(n) => n.to_string() == text,
        Value::Bool(b) => b.to_string() == text,
        _ => false,
    }
}

fn lookup(segments: &[Segment], value: &Value) -> Option<Value> {
    let Some((segment, rest)) = segments.split_first() else {
        return Some(value.clone());
    };
    match segment {
        Segment::Member(name) => lookup(rest, value.as_object()?.get(name)?),
        Segment::Index(i) => {
            let items = value.as_array()?;
            let len = i64::try_from(items.len()).ok()?;
            let at = if *i < 0 { len + i } else { *i };
            lookup(rest, items.get(usize::try_from(at).ok()?)?)
        }
        Segment::Filter { name, value: wanted } => {
            let found = value
                .as_array()?
                .iter()
                .find(|item| item.get(name).is_some_and(|v| renders_as(v, wanted)))?;
            lookup(rest, found)
        }
        Segment::Each => Some(Value::Array(
            value
                .as_array()?
                .iter()
                .filter_map(|item| lookup(rest, item))
                .collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_indexes_filters_and_each() {
        let doc = json!({
            "services": [{"deployments": [{"id": "a"}, {"id": "b", "n": 2}]}],
            "TargetGroups": [{"TargetGroupName": "blue", "Arn": "x"}, {"TargetGroupName": "green", "Arn": "y"}]
        });
        let get = |p: &str| Path::parse(p).unwrap().lookup(&doc);
        assert_eq!(get("services[0].deployments[1].id"), Some(json!("b")));
        assert_eq!(get("services[0].deployments[-1].n"), Some(json!(2)));
        assert_eq!(get("TargetGroups[TargetGroupName=green].Arn"), Some(json!("y")));
        assert_eq!(get("TargetGroups[*].Arn"), Some(json!(["x", "y"])));
        assert_eq!(get("services[0].deployments[n=2].id"), Some(json!("b")));
        assert_eq!(get("services[3]"), None);
        assert_eq!(get("nope"), None);
        assert_eq!(get(""), Some(doc.clone()));
    }

    #[test]
    fn bad_paths_say_why() {
        for bad in ["a[", "a..b", "a[x]"] {
            let e = Path::parse(bad);
            assert!(e.is_err(), "{bad}");
        }
        assert!(Path::parse("a[").unwrap_err().contains("not closed"));
    }
}

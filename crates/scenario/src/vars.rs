//! Variables: `${name}` in any string of a step is replaced by a value captured earlier (or a
//! built-in such as `${runtime}`), `${name.path[0]}` picks inside a captured value, filters
//! transform it (`${arn|metricDimension}`: the CloudWatch dimension value of a load balancer or
//! target group ARN; `${arn|last}`: the text after the last `/`), and `$${` writes a literal
//! `${`. A string that is exactly one reference takes the value's own type
//! (a captured list stays a list); inside longer text the value is written out.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::path::Path;

/// Captured values by name.
pub type Vars = BTreeMap<String, Value>;

/// One `${...}` in a string: the variable name and the path after it (may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub path: String,
    pub filters: Vec<String>,
}

/// Filters a reference may apply, in order.
pub const FILTERS: [&str; 2] = ["metricDimension", "last"];

fn apply_filter(filter: &str, value: Value) -> Result<Value, String> {
    let Value::String(text) = value else {
        return Err(format!("filter '{filter}' applies to strings, not {value}"));
    };
    match filter {
        // arn:…:loadbalancer/app/<name>/<id> → app/<name>/<id>;
        // arn:…:targetgroup/<name>/<id> → targetgroup/<name>/<id>
        "metricDimension" => match (text.split_once(":loadbalancer/"), text.rsplit_once(':')) {
            (Some((_, rest)), _) => Ok(Value::String(rest.to_string())),
            (None, Some((_, rest))) if rest.starts_with("targetgroup/") => {
                Ok(Value::String(rest.to_string()))
            }
            _ => Err(format!(
                "'{text}' is not a load balancer or target group ARN (filter metricDimension)"
            )),
        },
        "last" => Ok(Value::String(
            text.rsplit('/').next().unwrap_or_default().to_string(),
        )),
        other => Err(format!(
            "unknown filter '{other}'; filters: {}",
            FILTERS.join(", ")
        )),
    }
}

enum Piece<'a> {
    Text(&'a str),
    Literal,
    Ref(Reference),
}

fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if at > 0 && rest[..at].ends_with('$') {
            out.push(Piece::Text(&rest[..at - 1]));
            out.push(Piece::Literal);
            rest = &rest[at + 2..];
            continue;
        }
        out.push(Piece::Text(&rest[..at]));
        let inner = &rest[at + 2..];
        let close = inner
            .find('}')
            .ok_or_else(|| format!("'${{' without a closing '}}' in '{text}'"))?;
        let mut parts = inner[..close].split('|').map(str::trim);
        let body = parts.next().unwrap_or_default();
        let filters: Vec<String> = parts.map(str::to_string).collect();
        if let Some(bad) = filters.iter().find(|f| !FILTERS.contains(&f.as_str())) {
            return Err(format!(
                "unknown filter '{bad}' in '{text}'; filters: {}",
                FILTERS.join(", ")
            ));
        }
        let split = body.find(['.', '[']).unwrap_or(body.len());
        let name = &body[..split];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "'${{{body}}}' is not a variable reference (names are letters, digits, '_' and '-')"
            ));
        }
        let path = body[split..].trim_start_matches('.');
        Path::parse(path)?;
        out.push(Piece::Ref(Reference {
            name: name.to_string(),
            path: path.to_string(),
            filters,
        }));
        rest = &inner[close + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Every reference in `text`, in order.
pub fn references(text: &str) -> Result<Vec<Reference>, String> {
    Ok(pieces(text)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Ref(r) => Some(r),
            _ => None,
        })
        .collect())
}

fn resolve(reference: &Reference, vars: &Vars) -> Result<Value, String> {
    let value = vars
        .get(&reference.name)
        .ok_or_else(|| format!("variable '{}' is not defined", reference.name))?;
    let mut found = Path::parse(&reference.path)?.lookup(value).ok_or_else(|| {
        format!(
            "variable '{}' has nothing at '{}' (its value: {})",
            reference.name,
            reference.path,
            crate::matcher::short(value)
        )
    })?;
    for filter in &reference.filters {
        found = apply_filter(filter, found)?;
    }
    Ok(found)
}

/// `text` with every reference replaced.
pub fn substitute_str(text: &str, vars: &Vars) -> Result<Value, String> {
    let parts = pieces(text)?;
    if let [Piece::Text(""), Piece::Ref(r), Piece::Text("")] = parts.as_slice() {
        return resolve(r, vars);
    }
    let mut out = String::new();
    for part in parts {
        match part {
            Piece::Text(t) => out.push_str(t),
            Piece::Literal => out.push_str("${"),
            Piece::Ref(r) => match resolve(&r, vars)? {
                Value::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            },
        }
    }
    Ok(Value::String(out))
}

/// `value` with every reference in its strings (and object keys) replaced.
pub fn substitute(value: &Value, vars: &Vars) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) if s.contains("${") => substitute_str(s, vars)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| substitute(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(members) => {
            let mut out = serde_json::Map::new();
            for (k, v) in members {
                let key = if k.contains("${") {
                    match substitute_str(k, vars)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    }
                } else {
                    k.clone()
                };
                out.insert(key, substitute(v, vars)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.insert("arn".into(), json!("arn:aws:x"));
        v.insert("svc".into(), json!({"tasks": ["a", "b"], "n": 3}));
        v
    }

    #[test]
    fn whole_references_keep_their_type_and_text_interpolates() {
        let v = vars();
        assert_eq!(substitute_str("${svc.tasks}", &v), Ok(json!(["a", "b"])));
        assert_eq!(substitute_str("${svc.n}", &v), Ok(json!(3)));
        assert_eq!(
            substitute_str("id ${arn}/${svc.tasks[1]}", &v),
            Ok(json!("id arn:aws:x/b"))
        );
        assert_eq!(substitute_str("cost $${x}", &v), Ok(json!("cost ${x}")));
        let mut arns = Vars::new();
        arns.insert(
            "lb".into(),
            json!("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/12"),
        );
        arns.insert(
            "tg".into(),
            json!("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/green/34"),
        );
        assert_eq!(
            substitute_str("${lb|metricDimension}", &arns),
            Ok(json!("app/web/12"))
        );
        assert_eq!(
            substitute_str("${tg|metricDimension}", &arns),
            Ok(json!("targetgroup/green/34"))
        );
        assert_eq!(substitute_str("${tg|last}", &arns), Ok(json!("34")));
        assert_eq!(
            substitute(&json!({"a": ["${arn}", 1], "${arn}": true}), &v),
            Ok(json!({"a": ["arn:aws:x", 1], "arn:aws:x": true}))
        );
    }

    #[test]
    fn undefined_and_malformed_references_are_errors() {
        let v = vars();
        assert!(
            substitute_str("${nope}", &v)
                .unwrap_err()
                .contains("'nope' is not defined")
        );
        assert!(
            substitute_str("${svc.x}", &v)
                .unwrap_err()
                .contains("nothing at 'x'")
        );
        assert!(references("${a").is_err());
        assert!(references("${a b}").is_err());
        assert!(
            references("${a|nope}")
                .unwrap_err()
                .contains("unknown filter 'nope'")
        );
        assert_eq!(
            references("${a.b[0]} and ${c|last}").unwrap(),
            vec![
                Reference {
                    name: "a".into(),
                    path: "b[0]".into(),
                    filters: vec![]
                },
                Reference {
                    name: "c".into(),
                    path: String::new(),
                    filters: vec!["last".into()]
                }
            ]
        );
    }
}

//! Matchers that `expect` applies to a value: `equals`, `notEquals`, `contains`, `notContains`,
//! `oneOf`, `atLeast`, `atMost`, `length`, `exists`. Several in one place must all hold. A
//! failure message shows what was expected and what was there.

use serde_json::Value;

/// Names a matcher may have, for checks and hints.
pub const NAMES: [&str; 9] = [
    "equals",
    "notEquals",
    "contains",
    "notContains",
    "oneOf",
    "atLeast",
    "atMost",
    "length",
    "exists",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    Equals(Value),
    NotEquals(Value),
    Contains(Value),
    NotContains(Value),
    OneOf(Vec<Value>),
    AtLeast(f64),
    AtMost(f64),
    Length(u64),
    Exists(bool),
}

/// A value shortened for messages (at most 300 characters).
pub fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 300 {
        return text;
    }
    let cut: String = text.chars().take(297).collect();
    format!("{cut}...")
}

fn show(actual: Option<&Value>) -> String {
    actual.map_or_else(|| "nothing (the path is absent)".to_string(), short)
}

/// Equality that treats 3 and 3.0 alike.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match (haystack, needle) {
        (Value::String(h), Value::String(n)) => h.contains(n.as_str()),
        (Value::Array(items), _) => items.iter().any(|i| same(i, needle)),
        (Value::Object(map), Value::String(k)) => map.contains_key(k),
        _ => false,
    }
}

impl Matcher {
    /// Builds one matcher from its name and (already substituted) argument.
    pub fn from_json(name: &str, arg: &Value) -> Result<Self, String> {
        let number = || {
            arg.as_f64()
                .ok_or_else(|| format!("{name} takes a number, not {}", short(arg)))
        };
        Ok(match name {
            "equals" => Matcher::Equals(arg.clone()),
            "notEquals" => Matcher::NotEquals(arg.clone()),
            "contains" => Matcher::Contains(arg.clone()),
            "notContains" => Matcher::NotContains(arg.clone()),
            "oneOf" => Matcher::OneOf(
                arg.as_array()
                    .ok_or_else(|| "oneOf takes a list".to_string())?
                    .clone(),
            ),
            "atLeast" => Matcher::AtLeast(number()?),
            "atMost" => Matcher::AtMost(number()?),
            "length" => Matcher::Length(
                arg.as_u64()
                    .ok_or_else(|| "length takes a non-negative integer".to_string())?,
            ),
            "exists" => Matcher::Exists(
                arg.as_bool()
                    .ok_or_else(|| "exists takes true or false".to_string())?,
            ),
            other => {
                return Err(format!(
                    "unknown matcher '{other}'; matchers: {}",
                    NAMES.join(", ")
                ));
            }
        })
    }

    /// Ok when `actual` (absent: `None`) satisfies it; else the message.
    pub fn check(&self, what: &str, actual: Option<&Value>) -> Result<(), String> {
        let fail = |expected: String| Err(format!("{what}: expected {expected}, got {}", show(actual)));
        match self {
            Matcher::Exists(want) => {
                if actual.is_some_and(|v| !v.is_null()) == *want {
                    Ok(())
                } else if *want {
                    fail("a value".into())
                } else {
                    fail("nothing".into())
                }
            }
            Matcher::Equals(want) => match actual {
                Some(v) if same(v, want) => Ok(()),
                _ => fail(short(want)),
            },
            Matcher::NotEquals(want) => match actual {
                Some(v) if same(v, want) => fail(format!("anything but {}", short(want))),
                _ => Ok(()),
            },
            Matcher::Contains(want) => match actual {
                Some(v) if contains(v, want) => Ok(()),
                _ => fail(format!("something containing {}", short(want))),
            },
            Matcher::NotContains(want) => match actual {
                Some(v) if contains(v, want) => fail(format!("nothing containing {}", short(want))),
                _ => Ok(()),
            },
            Matcher::OneOf(options) => match actual {
                Some(v) if options.iter().any(|o| same(o, v)) => Ok(()),
                _ => fail(format!("one of {}", short(&Value::Array(options.clone())))),
            },
            Matcher::AtLeast(n) => match actual.and_then(Value::as_f64) {
                Some(v) if v >= *n => Ok(()),
                _ => fail(format!("at least {n}")),
            },
            Matcher::AtMost(n) => match actual.and_then(Value::as_f64) {
                Some(v) if v <= *n => Ok(()),
                _ => fail(format!("at most {n}")),
            },
            Matcher::Length(n) => {
                let len = actual.and_then(|v| match v {
                    Value::Array(a) => Some(a.len()),
                    Value::String(s) => Some(s.chars().count()),
                    Value::Object(m) => Some(m.len()),
                    _ => None,
                });
                match len {
                    Some(l) if u64::try_from(l).is_ok_and(|l| l == *n) => Ok(()),
                    _ => fail(format!("length {n}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(name: &str, arg: Value) -> Matcher {
        Matcher::from_json(name, &arg).unwrap()
    }

    #[test]
    fn each_matcher_passes_and_fails() {
        let v = json!({"s": "web:2", "n": 3, "l": ["a", "b"]});
        let at = |k: &str| v.get(k);
        assert!(m("equals", json!(3.0)).check("n", at("n")).is_ok());
        assert!(
            m("equals", json!(4))
                .check("n", at("n"))
                .unwrap_err()
                .contains("expected 4, got 3")
        );
        assert!(m("notEquals", json!(4)).check("n", at("n")).is_ok());
        assert!(m("contains", json!("web")).check("s", at("s")).is_ok());
        assert!(m("contains", json!("b")).check("l", at("l")).is_ok());
        assert!(m("notContains", json!("c")).check("l", at("l")).is_ok());
        assert!(m("oneOf", json!([1, 3])).check("n", at("n")).is_ok());
        assert!(m("atLeast", json!(3)).check("n", at("n")).is_ok());
        assert!(m("atMost", json!(2)).check("n", at("n")).is_err());
        assert!(m("length", json!(2)).check("l", at("l")).is_ok());
        assert!(m("exists", json!(false)).check("x", at("x")).is_ok());
        let e = m("exists", json!(true)).check("x", at("x")).unwrap_err();
        assert!(e.contains("expected a value, got nothing"), "{e}");
        assert!(
            Matcher::from_json("equal", &json!(1))
                .unwrap_err()
                .contains("matchers:")
        );
    }
}

//! Turns model names into Rust names: snake_case fields and methods, PascalCase types and enum
//! variants, keyword escaping, de-duplication, and one-line doc comments from model HTML.

use std::collections::BTreeSet;

/// Rust keywords (strict, reserved and edition-2024 `gen`): escaped as raw identifiers.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop",
    "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers: these get a trailing underscore instead.
const NOT_RAW: &[&str] = &["crate", "self", "Self", "super"];

/// Type names the generated code (or a reader) relies on meaning the prelude/std item, plus the
/// names the generated `api.rs` defines next to the types. A shape with one of these names gets
/// the suffix `Shape`.
const RESERVED_TYPES: &[&str] = &[
    "AsMut",
    "AsRef",
    "BTreeMap",
    "Box",
    "Clone",
    "Copy",
    "Debug",
    "Default",
    "Deserialize",
    "Display",
    "Drop",
    "Eq",
    "Err",
    "Error",
    "Extend",
    "Fn",
    "FnMut",
    "FnOnce",
    "From",
    "FromIterator",
    "FromStr",
    "HashMap",
    "Hash",
    "Into",
    "IntoIterator",
    "Iterator",
    "None",
    "Ok",
    "Operation",
    "Option",
    "Ord",
    "PartialEq",
    "PartialOrd",
    "Result",
    "Self",
    "Send",
    "Serialize",
    "Sized",
    "Some",
    "String",
    "Sync",
    "ToOwned",
    "ToString",
    "TryFrom",
    "TryInto",
    "Unpin",
    "Value",
    "Vec",
];

/// Splits a name into words at separators, lower→upper and digit→upper changes, and at the end
/// of an acronym (`VPCId` → `VPC`, `Id`), keeping `IPv6` and plural acronyms (`ARNs`) whole.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if i > 0 && c.is_ascii_uppercase() {
                let prev = chars[i - 1];
                let next = chars.get(i + 1).copied();
                let after = chars.get(i + 2).copied();
                let boundary = if prev.is_ascii_lowercase() || prev.is_ascii_digit() {
                    true
                } else if prev.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()) {
                    // `VPCId`: the acronym ends before `Id`. Not for `ARNs` (plural) or `IPv6`.
                    let plural = next == Some('s') && !after.is_some_and(|a| a.is_ascii_lowercase());
                    let versioned = after.is_some_and(|a| a.is_ascii_digit());
                    !plural && !versioned
                } else {
                    false
                };
                if boundary && !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            current.push(c);
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    // Binary units split as `Gi`, `B`: join them again (`sizeInGiB` → `size_in_gib`).
    let mut joined: Vec<String> = Vec::with_capacity(out.len());
    for word in out {
        match joined.last_mut() {
            Some(last) if word == "B" && ["Ki", "Mi", "Gi", "Ti", "Pi"].contains(&last.as_str()) => {
                last.push('B')
            }
            _ => joined.push(word),
        }
    }
    joined
}

/// `taskDefinitionArn` → `task_definition_arn`, keywords escaped.
pub fn snake_case(name: &str) -> String {
    let joined = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    let joined = if joined.is_empty() {
        "field".to_owned()
    } else {
        joined
    };
    let joined = if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    };
    escape_keyword(joined)
}

/// `FARGATE_SPOT` → `FargateSpot`, `us-east-1` → `UsEast1`, `1.0` → `V10`.
pub fn variant_name(value: &str) -> String {
    let mut out = String::new();
    for word in words(value) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.is_empty() {
        out.push_str("Empty");
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    escape_keyword(out)
}

/// The Rust type name of a shape: the shape name with a capital first letter, `Shape` appended
/// when it would shadow a std/prelude or generated name.
pub fn type_name(shape: &str) -> String {
    let mut out: String = shape
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if let Some(first) = out.get(..1) {
        let upper = first.to_ascii_uppercase();
        out.replace_range(..1, &upper);
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'T');
    }
    if RESERVED_TYPES.contains(&out.as_str()) || KEYWORDS.contains(&out.as_str()) {
        out.push_str("Shape");
    }
    out
}

fn escape_keyword(name: String) -> String {
    if NOT_RAW.contains(&name.as_str()) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// Hands out names unique within one scope, suffixing `2`, `3`, … on collision.
#[derive(Default)]
pub struct Deduper {
    taken: BTreeSet<String>,
}

impl Deduper {
    /// A deduper with some names already taken.
    pub fn with_taken<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            taken: names.into_iter().map(str::to_owned).collect(),
        }
    }

    pub fn unique(&mut self, name: String) -> String {
        if self.taken.insert(name.clone()) {
            return name;
        }
        // Raw identifiers cannot take a suffix inside the `r#`; drop it (`r#type2` → `type2`).
        let base = name.strip_prefix("r#").unwrap_or(&name).to_owned();
        (2..)
            .map(|n| format!("{base}{n}"))
            .find(|candidate| self.taken.insert(candidate.clone()))
            .unwrap_or(base)
    }
}

/// The first sentence of a model documentation string, HTML tags removed, on one line. Falls back
/// to `fallback` when the model has no documentation.
pub fn doc_line(documentation: Option<&str>, fallback: &str) -> String {
    let text = documentation.map(strip_html).unwrap_or_default();
    let sentence = first_sentence(&text);
    let sentence = sentence.replace("```", "").trim().to_owned();
    if sentence.is_empty() {
        fallback.to_owned()
    } else {
        sentence
    }
}

/// Removes `<tags>` (block tags become spaces) and collapses whitespace. Entities (`&lt;`) are
/// kept: rustdoc renders them.
fn strip_html(html: &str) -> String {
    const BLOCK_TAGS: &[&str] = &[
        "p",
        "br",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "note",
        "important",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
    ];
    let mut out = String::with_capacity(html.len());
    let mut tag: Option<String> = None;
    for c in html.chars() {
        match (&mut tag, c) {
            (None, '<') => tag = Some(String::new()),
            (Some(name), '>') => {
                let name = name.trim_start_matches('/');
                let name = name
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or_default();
                if BLOCK_TAGS.contains(&name.to_ascii_lowercase().as_str()) {
                    out.push(' ');
                }
                tag = None;
            }
            (Some(name), c) => name.push(c),
            (None, c) => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(end) => &text[..=end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_cases() {
        assert_eq!(snake_case("VPCId"), "vpc_id");
        assert_eq!(snake_case("ipv6CidrBlock"), "ipv6_cidr_block");
        assert_eq!(snake_case("taskDefinitionArn"), "task_definition_arn");
        assert_eq!(snake_case("IPv6Address"), "ipv6_address");
        assert_eq!(snake_case("TaskARNs"), "task_arns");
        assert_eq!(snake_case("EC2InstanceId"), "ec2_instance_id");
        assert_eq!(snake_case("DNSServers"), "dns_servers");
        assert_eq!(snake_case("type"), "r#type");
        assert_eq!(snake_case("memoryGiBPerVCpu"), "memory_gib_per_v_cpu");
        assert_eq!(snake_case("self"), "self_");
        assert_eq!(snake_case("CreateCluster"), "create_cluster");
    }

    #[test]
    fn variants() {
        assert_eq!(variant_name("FARGATE_SPOT"), "FargateSpot");
        assert_eq!(
            variant_name("attribute:ecs.availability-zone"),
            "AttributeEcsAvailabilityZone"
        );
        assert_eq!(variant_name("us-east-1"), "UsEast1");
        assert_eq!(variant_name("1.0"), "V10");
        assert_eq!(variant_name("ContainerInstance"), "ContainerInstance");
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name("boxedBoolean"), "BoxedBoolean");
        assert_eq!(type_name("String"), "StringShape");
        assert_eq!(type_name("LaunchType"), "LaunchType");
    }

    #[test]
    fn docs() {
        assert_eq!(
            doc_line(Some("<p>Creates a <code>cluster</code>. More.</p>"), "X"),
            "Creates a cluster."
        );
        assert_eq!(doc_line(None, "Fallback"), "Fallback");
    }
}

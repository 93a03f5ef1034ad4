//! Checks of a scenario before it runs: that each `call` names an operation ecsim's models have,
//! that its input fits the operation's input shape (member names, types, enum values; a hint
//! names the closest member), that every `${name}` is defined by an earlier step, and that step
//! names used by `since:` exist.
//!
//! It must not run anything or know how operations behave; values that hold `${...}` are
//! checked only after substitution, at run time, by the service itself.

use std::collections::BTreeSet;

use ecsim_protocol::schema::{OperationSchema, ServiceSchema, ShapeKind, ShapeRef};

use crate::doc::{Node, NodeValue};
use crate::model::{ExpectKind, Reader, Setup, Step, StepKind, ThatSource, suggest};

/// Variables every scenario has without capturing them.
pub const BUILTIN_VARS: [&str; 5] = ["scenario", "runtime", "seed", "region", "accountId"];

fn service(name: &str) -> Option<&'static ServiceSchema> {
    ecsim_api::SERVICES.iter().copied().find(|s| s.name == name)
}

/// The operation `service.operation`, or a message and a hint.
pub fn operation(service_name: &str, operation: &str) -> Result<&'static OperationSchema, (String, String)> {
    let names: Vec<&str> = ecsim_api::SERVICES.iter().map(|s| s.name).collect();
    let Some(schema) = service(service_name) else {
        return Err((
            format!("unknown service '{service_name}'"),
            suggest(service_name, &names),
        ));
    };
    schema.operation(operation).ok_or_else(|| {
        let ops: Vec<&str> = schema.operations.iter().map(|o| o.name).collect();
        (
            format!("{service_name} has no operation '{operation}'"),
            suggest(operation, &ops),
        )
    })
}

/// Checks `input` against the operation's input shape.
pub fn input(reader: &mut Reader<'_>, service_name: &str, operation_name: &str, input: &Node) {
    let (Some(schema), Ok(op)) = (service(service_name), operation(service_name, operation_name)) else {
        return;
    };
    match op.input {
        Some(shape) => value(reader, schema, shape, input, "input"),
        None => {
            if input.as_map().is_some_and(|m| !m.is_empty()) {
                reader.problem(
                    input.pos,
                    format!("{service_name}.{operation_name} takes no input"),
                    None,
                );
            }
        }
    }
}

fn holds_reference(node: &Node) -> bool {
    node.as_str().is_some_and(|s| s.contains("${"))
}

fn value(reader: &mut Reader<'_>, schema: &ServiceSchema, shape: ShapeRef, node: &Node, at: &str) {
    if holds_reference(node) || matches!(node.value, NodeValue::Null) {
        return;
    }
    let s = schema.shape(shape);
    let wrong = |reader: &mut Reader<'_>, want: &str| {
        reader.problem(
            node.pos,
            format!("{at} must be {want} ({}), not {}", s.name, node.kind_name()),
            None,
        );
    };
    match &s.kind {
        ShapeKind::Structure { members, .. } => {
            let Some(map) = node.as_map() else {
                return wrong(reader, "a mapping");
            };
            for (k, v) in map {
                match members.iter().find(|m| m.name == k.name) {
                    Some(m) => value(reader, schema, m.target, v, &format!("{at}.{}", k.name)),
                    None => {
                        let names: Vec<&str> = members.iter().map(|m| m.name).collect();
                        let hint = members
                            .iter()
                            .find(|m| m.name.eq_ignore_ascii_case(&k.name))
                            .map_or_else(
                                || suggest(&k.name, &names),
                                |m| format!("did you mean '{}'? (member names are case-sensitive)", m.name),
                            );
                        reader.problem(
                            k.pos,
                            format!("{at} has no member '{}' ({})", k.name, s.name),
                            Some(hint),
                        );
                    }
                }
            }
        }
        ShapeKind::List { member, .. } => {
            let Some(items) = node.as_seq() else {
                return wrong(reader, "a list");
            };
            for (i, item) in items.iter().enumerate() {
                value(reader, schema, *member, item, &format!("{at}[{i}]"));
            }
        }
        ShapeKind::Map { value: v, .. } => {
            let Some(map) = node.as_map() else {
                return wrong(reader, "a mapping");
            };
            for (k, item) in map {
                value(reader, schema, *v, item, &format!("{at}.{}", k.name));
            }
        }
        ShapeKind::String { enum_values } => {
            let Some(text) = node.as_str() else {
                // The API takes a string here (ECS `cpu: "256"`), and YAML reads 256 as a number.
                if matches!(
                    node.value,
                    NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_)
                ) {
                    reader.problem(
                        node.pos,
                        format!("{at} must be a string ({}), not {}", s.name, node.kind_name()),
                        Some("quote it, for example \"256\"".into()),
                    );
                } else {
                    wrong(reader, "a string");
                }
                return;
            };
            if !enum_values.is_empty() && !enum_values.contains(&text) {
                reader.problem(
                    node.pos,
                    format!("{at} '{text}' is not a {} value", s.name),
                    Some(suggest(text, enum_values)),
                );
            }
        }
        ShapeKind::Integer | ShapeKind::Long => {
            if !matches!(node.value, NodeValue::Int(_)) {
                wrong(reader, "an integer");
            }
        }
        ShapeKind::Float | ShapeKind::Double => {
            if node.as_f64().is_none() {
                wrong(reader, "a number");
            }
        }
        ShapeKind::Boolean => {
            if !matches!(node.value, NodeValue::Bool(_)) {
                wrong(reader, "true or false");
            }
        }
        ShapeKind::Timestamp { .. } => {
            if !matches!(
                node.value,
                NodeValue::Str(_) | NodeValue::Int(_) | NodeValue::Float(_)
            ) {
                wrong(reader, "a timestamp");
            }
        }
        ShapeKind::Blob => {
            if node.as_str().is_none() {
                wrong(reader, "a base64 string");
            }
        }
        ShapeKind::Document => {}
    }
}

/// Every `${name}` must be defined before its step: a built-in, a `setup.vars` entry, or a
/// capture of an earlier step.
pub fn variables(reader: &mut Reader<'_>, setup: &Setup, steps: &[Step]) {
    let mut defined: BTreeSet<String> = BUILTIN_VARS.iter().map(|s| (*s).to_string()).collect();
    defined.extend(setup.vars.keys().cloned());
    for step in steps {
        let mut texts = Vec::new();
        step_strings(step, &mut texts);
        for text in texts {
            match crate::vars::references(&text) {
                Ok(refs) => {
                    for r in refs.iter().filter(|r| !defined.contains(&r.name)) {
                        let known: Vec<&str> = defined.iter().map(String::as_str).collect();
                        reader.problem(
                            crate::doc::Pos {
                                line: step.line,
                                col: 1,
                            },
                            format!("variable '{}' is not defined before this step", r.name),
                            Some(format!(
                                "{} (captures of earlier steps, setup.vars and {} are defined)",
                                suggest(&r.name, &known),
                                BUILTIN_VARS.join(", ")
                            )),
                        );
                    }
                }
                Err(e) => reader.problem(
                    crate::doc::Pos {
                        line: step.line,
                        col: 1,
                    },
                    e,
                    None,
                ),
            }
        }
        match &step.kind {
            StepKind::Call { capture, .. } => defined.extend(capture.iter().map(|(n, _)| n.clone())),
            StepKind::Fault { capture: Some(n), .. } => {
                defined.insert(n.clone());
            }
            _ => {}
        }
    }
}

fn json_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

fn step_strings(step: &Step, out: &mut Vec<String>) {
    match &step.kind {
        StepKind::Call { input, .. } => json_strings(input, out),
        StepKind::Wait { condition, .. } => json_strings(condition, out),
        StepKind::Fault { spec, .. } => json_strings(spec, out),
        StepKind::Traffic(t) => json_strings(&t.load_balancer, out),
        StepKind::Advance { .. } => {}
        StepKind::Expect { checks } => {
            for c in checks {
                match &c.kind {
                    ExpectKind::That {
                        source,
                        matchers,
                        path,
                    } => {
                        out.push(path.clone());
                        match source {
                            ThatSource::Call { input, .. } => json_strings(input, out),
                            ThatSource::Value(v) => json_strings(v, out),
                        }
                        matchers.iter().for_each(|(_, v)| json_strings(v, out));
                    }
                    ExpectKind::Traffic {
                        version,
                        target_group,
                        requests,
                        errors,
                        tasks,
                        ..
                    } => {
                        out.extend(version.iter().cloned());
                        out.extend(target_group.iter().cloned());
                        for (_, v) in requests.iter().chain(errors).chain(tasks) {
                            json_strings(v, out);
                        }
                    }
                    ExpectKind::AlarmHistory { alarm_name, .. } => json_strings(alarm_name, out),
                    ExpectKind::DeploymentHistory { deployment, .. } => {
                        if let Some(d) = deployment {
                            json_strings(d, out);
                        }
                    }
                    ExpectKind::Events { contains, count } => {
                        json_strings(contains, out);
                        count.iter().for_each(|(_, v)| json_strings(v, out));
                    }
                    ExpectKind::Running { min, max, now, .. } => {
                        for (_, v) in min.iter().chain(max).chain(now) {
                            json_strings(v, out);
                        }
                    }
                }
            }
        }
    }
}

/// Step names are unique, and `since:` names an earlier step.
pub fn step_names(reader: &mut Reader<'_>, steps: &[Step]) {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for step in steps {
        if let StepKind::Expect { checks } = &step.kind {
            for c in checks {
                let since = match &c.kind {
                    ExpectKind::Traffic { since, .. } | ExpectKind::Running { since, .. } => since.as_ref(),
                    _ => None,
                };
                if let Some(name) = since
                    && !seen.contains(name.as_str())
                {
                    let known: Vec<&str> = seen.iter().copied().collect();
                    reader.problem(
                        crate::doc::Pos { line: c.line, col: 1 },
                        format!("since: no earlier step is named '{name}'"),
                        Some(suggest(name, &known)),
                    );
                }
            }
        }
        if let Some(name) = &step.name
            && !seen.insert(name)
        {
            reader.problem(
                crate::doc::Pos {
                    line: step.line,
                    col: 1,
                },
                format!("two steps are named '{name}'"),
                None,
            );
        }
    }
}

//! Reading a scenario file's positioned tree into the model, with every problem reported by
//! file, line and a hint (the closest known name) before anything runs.
//!
//! It must not run anything or call a service: inputs are checked against the schemas only.

use serde_json::Value;

use super::*;
use crate::doc::{Key, Node, NodeValue, Pos};
use crate::duration;
use crate::path::Path;
const WAIT_CONDITIONS: [&str; 7] = [
    "serviceStable",
    "taskCount",
    "alarmState",
    "targetHealth",
    "deployment",
    "serviceDeployment",
    "that",
];
const EXPECT_KINDS: [&str; 6] = [
    "that",
    "traffic",
    "alarmHistory",
    "deploymentHistory",
    "events",
    "running",
];

/// Collects problems while reading one file.
pub struct Reader<'a> {
    file: &'a str,
    pub problems: Vec<Problem>,
}

/// Levenshtein distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// "did you mean 'x'?" when a known name is close, else the list of known names.
pub fn suggest(word: &str, known: &[&str]) -> String {
    let best = known
        .iter()
        .map(|k| (distance(word, k), *k))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2.max(word.len() / 3) => format!("did you mean '{k}'?"),
        _ if known.len() <= 12 => format!("expected one of: {}", known.join(", ")),
        _ => "see docs/scenarios.md for the names".to_string(),
    }
}

impl<'a> Reader<'a> {
    pub fn new(file: &'a str) -> Self {
        Self {
            file,
            problems: Vec::new(),
        }
    }

    pub fn problem(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            pos,
            message: message.into(),
            hint,
        });
    }

    /// The members of a mapping, reporting any not in `allowed`.
    fn members<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<&'n [(Key, Node)]> {
        let Some(map) = node.as_map() else {
            self.problem(
                node.pos,
                format!("{what} must be a mapping, not {}", node.kind_name()),
                None,
            );
            return None;
        };
        for (k, _) in map {
            if !allowed.contains(&k.name.as_str()) {
                self.problem(
                    k.pos,
                    format!("unknown field '{}' in {what}", k.name),
                    Some(suggest(&k.name, allowed)),
                );
            }
        }
        Some(map)
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            NodeValue::Str(s) => Some(s.clone()),
            NodeValue::Int(i) => Some(i.to_string()),
            _ => {
                self.problem(
                    node.pos,
                    format!("{what} must be a string, not {}", node.kind_name()),
                    None,
                );
                None
            }
        }
    }

    fn required<'n>(&mut self, node: &'n Node, field: &str, what: &str) -> Option<&'n Node> {
        let found = node.get(field);
        if found.is_none() {
            self.problem(node.pos, format!("{what} needs '{field}'"), None);
        }
        found
    }

    fn duration(&mut self, node: &Node, what: &str) -> Option<u64> {
        let parsed = match &node.value {
            NodeValue::Str(s) => duration::parse_ms(s),
            NodeValue::Int(_) | NodeValue::Float(_) => {
                duration::parse_ms(&node.as_f64().unwrap_or(-1.0).to_string())
            }
            _ => Err(format!("{what} must be a duration")),
        };
        match parsed {
            Ok(ms) => Some(ms),
            Err(e) => {
                self.problem(node.pos, format!("{what}: {e}"), None);
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<i64> {
        match node.value {
            NodeValue::Int(i) if (min..=max).contains(&i) => Some(i),
            _ => {
                self.problem(
                    node.pos,
                    format!("{what} must be an integer from {min} to {max}"),
                    None,
                );
                None
            }
        }
    }

    /// Matcher members (`equals: …`, `atLeast: …`) of a mapping, other than `skip`.
    fn matchers(&mut self, node: &Node, what: &str, skip: &[&str]) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let Some(map) = node.as_map() else {
            self.problem(node.pos, format!("{what} must be a mapping of matchers"), None);
            return out;
        };
        for (k, v) in map {
            if skip.contains(&k.name.as_str()) {
                continue;
            }
            if crate::matcher::NAMES.contains(&k.name.as_str()) {
                out.push((k.name.clone(), v.to_json()));
            } else {
                let mut known: Vec<&str> = skip.to_vec();
                known.extend(crate::matcher::NAMES);
                self.problem(
                    k.pos,
                    format!("unknown field '{}' in {what}", k.name),
                    Some(suggest(&k.name, &known)),
                );
            }
        }
        out
    }

    /// A matcher mapping, or a bare value meaning `equals`.
    fn matcher_or_value(&mut self, node: &Node, what: &str) -> Vec<(String, Value)> {
        if node.as_map().is_some() {
            let found = self.matchers(node, what, &[]);
            if found.is_empty() {
                self.problem(
                    node.pos,
                    format!("{what} names no matcher"),
                    Some(format!("matchers: {}", crate::matcher::NAMES.join(", "))),
                );
            }
            found
        } else {
            vec![("equals".to_string(), node.to_json())]
        }
    }
}

/// `service.Operation` split, with checks against the services ecsim serves.
fn call_target(reader: &mut Reader<'_>, node: &Node) -> Option<(String, String)> {
    let text = reader.string(node, "call")?;
    let Some((service, operation)) = text.split_once('.') else {
        reader.problem(
            node.pos,
            format!("call '{text}' must be written service.Operation"),
            Some("for example ecs.CreateService or elbv2.CreateLoadBalancer".into()),
        );
        return None;
    };
    match crate::check::operation(service, operation) {
        Ok(_) => Some((service.to_string(), operation.to_string())),
        Err((message, hint)) => {
            reader.problem(node.pos, message, Some(hint));
            None
        }
    }
}

/// Reads a whole file. A file holds one scenario (`name`, `setup`, `steps`) or several
/// (`scenarios: [...]`, with an optional shared `setup`).
pub fn parse_file(path: &str, text: &str) -> Result<ScenarioFile, Vec<Problem>> {
    let root = match crate::doc::parse(text) {
        Ok(root) => root,
        Err(e) => {
            return Err(vec![Problem {
                file: path.to_string(),
                pos: e.pos,
                message: format!("not valid YAML or JSON: {}", e.message),
                hint: None,
            }]);
        }
    };
    let mut reader = Reader::new(path);
    let stem = std::path::Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned());
    let mut scenarios = Vec::new();
    if root.get("scenarios").is_some() {
        if let Some(map) = reader.members(&root, "the file", &["setup", "scenarios", "description"]) {
            let shared = map.iter().find(|(k, _)| k.name == "setup").map(|(_, v)| v);
            let base = shared.map_or_else(Setup::default, |s| read_setup(&mut reader, s, Setup::default()));
            match root.get("scenarios").and_then(Node::as_seq) {
                Some(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        let fallback = format!("{stem} #{}", i + 1);
                        if let Some(s) = read_scenario(&mut reader, item, &base, &fallback) {
                            scenarios.push(s);
                        }
                    }
                }
                _ => reader.problem(root.pos, "scenarios must be a non-empty list", None),
            }
        }
    } else if let Some(s) = read_scenario(&mut reader, &root, &Setup::default(), &stem) {
        scenarios.push(s);
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in &scenarios {
        if !seen.insert(s.name.clone()) {
            reader.problem(
                Pos { line: s.line, col: 1 },
                format!("two scenarios are named '{}'", s.name),
                None,
            );
        }
    }
    if reader.problems.is_empty() {
        Ok(ScenarioFile {
            path: path.to_string(),
            scenarios,
        })
    } else {
        Err(reader.problems)
    }
}

fn read_scenario(
    reader: &mut Reader<'_>,
    node: &Node,
    base: &Setup,
    fallback_name: &str,
) -> Option<Scenario> {
    let map = reader.members(node, "a scenario", &["name", "description", "setup", "steps"])?;
    let name = map
        .iter()
        .find(|(k, _)| k.name == "name")
        .and_then(|(_, v)| reader.string(v, "name"))
        .unwrap_or_else(|| fallback_name.to_string());
    let description = map
        .iter()
        .find(|(k, _)| k.name == "description")
        .and_then(|(_, v)| reader.string(v, "description"));
    let setup = match node.get("setup") {
        Some(s) => read_setup(reader, s, base.clone()),
        None => base.clone(),
    };
    let before = reader.problems.len();
    let mut steps = Vec::new();
    match node.get("steps").map(|s| (s, s.as_seq())) {
        Some((_, Some(items))) => {
            for item in items {
                if let Some(step) = read_step(reader, item) {
                    steps.push(step);
                }
            }
        }
        Some((s, None)) => reader.problem(s.pos, "steps must be a list", None),
        None => reader.problem(
            node.pos,
            format!("scenario '{name}' has no steps"),
            Some("add `steps:` with a list of call, wait, advance, fault, traffic and expect steps".into()),
        ),
    }
    if reader.problems.len() == before {
        crate::check::variables(reader, &setup, &steps);
        crate::check::step_names(reader, &steps);
    }
    Some(Scenario {
        name,
        line: node.pos.line,
        description,
        setup,
        steps,
    })
}

const SETUP_FIELDS: [&str; 14] = [
    "region",
    "accountId",
    "availabilityZones",
    "vpcCidr",
    "subnetPrefixLength",
    "seed",
    "runtime",
    "runtimes",
    "speed",
    "images",
    "dockerImage",
    "functions",
    "sampleEvery",
    "vars",
];

fn read_setup(reader: &mut Reader<'_>, node: &Node, mut setup: Setup) -> Setup {
    let Some(map) = reader.members(node, "setup", &SETUP_FIELDS) else {
        return setup;
    };
    for (key, value) in map {
        match key.name.as_str() {
            "region" => {
                if let Some(s) = reader.string(value, "setup.region") {
                    setup.region = s;
                }
            }
            "accountId" => match reader.string(value, "setup.accountId") {
                Some(s) if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => setup.account_id = s,
                Some(_) => reader.problem(
                    value.pos,
                    "setup.accountId must be twelve digits (quote it)",
                    None,
                ),
                None => {}
            },
            "availabilityZones" => {
                match &value.value {
                    NodeValue::Int(n) if (1..=26).contains(n) => {
                        setup.zone_letters = (b'a'..=b'z')
                            .take(usize::try_from(*n).unwrap_or(0))
                            .map(|b| char::from(b).to_string())
                            .collect();
                    }
                    NodeValue::Seq(items) => {
                        let letters: Vec<String> = items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_string))
                            .collect();
                        if letters.len() != items.len()
                            || letters.is_empty()
                            || letters
                                .iter()
                                .any(|l| l.len() != 1 || !l.bytes().all(|b| b.is_ascii_lowercase()))
                        {
                            reader.problem(value.pos, "setup.availabilityZones must be a number from 1 to 26 or a list of zone letters", Some("for example 5, or [a, b, c]".into()));
                        } else {
                            setup.zone_letters = letters;
                        }
                    }
                    _ => reader.problem(
                        value.pos,
                        "setup.availabilityZones must be a number from 1 to 26 or a list of zone letters",
                        Some("for example 5, or [a, b, c]".into()),
                    ),
                }
            }
            "vpcCidr" => setup.vpc_cidr = reader.string(value, "setup.vpcCidr"),
            "subnetPrefixLength" => {
                setup.subnet_prefix_length = reader
                    .integer(value, "setup.subnetPrefixLength", 16, 28)
                    .and_then(|n| u8::try_from(n).ok());
            }
            "seed" => {
                if let Some(n) = reader.integer(value, "setup.seed", 0, i64::MAX) {
                    setup.seed = u64::try_from(n).unwrap_or(0);
                }
            }
            "runtime" => match value.as_str().and_then(RuntimeName::parse) {
                Some(r) => setup.runtime = r,
                None => reader.problem(value.pos, "setup.runtime must be sim or docker", None),
            },
            "runtimes" => {
                let parsed: Option<Vec<RuntimeName>> = value
                    .as_seq()
                    .map(|items| {
                        items
                            .iter()
                            .map(|i| i.as_str().and_then(RuntimeName::parse))
                            .collect()
                    })
                    .unwrap_or(None);
                match parsed {
                    Some(list) if !list.is_empty() => setup.runtimes = list,
                    _ => reader.problem(value.pos, "setup.runtimes must be a list of sim and docker", None),
                }
            }
            "speed" => match value.as_f64() {
                Some(s) if s.is_finite() && (0.01..=10_000.0).contains(&s) => setup.speed = s,
                _ => reader.problem(value.pos, "setup.speed must be a number from 0.01 to 10000", None),
            },
            "images" => read_images(reader, value, &mut setup),
            "dockerImage" => {
                if let Some(s) = reader.string(value, "setup.dockerImage") {
                    setup.docker_image = s;
                }
            }
            // Read after the loop: it needs its own checks.
            "functions" => {}
            "sampleEvery" => {
                if let Some(ms) = reader.duration(value, "setup.sampleEvery") {
                    if ms < 100 {
                        reader.problem(value.pos, "setup.sampleEvery must be at least 100ms", None);
                    } else {
                        setup.sample_every_ms = ms;
                    }
                }
            }
            "vars" => match value.as_map() {
                Some(members) => {
                    for (k, v) in members {
                        setup.vars.insert(k.name.clone(), v.to_json());
                    }
                }
                None => reader.problem(value.pos, "setup.vars must be a mapping of names to values", None),
            },
            _ => {}
        }
    }
    if let Some(functions) = node.get("functions") {
        read_functions(reader, functions, &mut setup);
    }
    setup
}

fn read_functions(reader: &mut Reader<'_>, node: &Node, setup: &mut Setup) {
    let Some(map) = node.as_map() else {
        reader.problem(
            node.pos,
            "setup.functions must map function names to a url or a command",
            None,
        );
        return;
    };
    setup.functions.clear();
    for (k, v) in map {
        let spec = match &v.value {
            NodeValue::Str(url) if url.starts_with("http://") => Some(FunctionSpec::Url(url.clone())),
            NodeValue::Seq(items) if !items.is_empty() => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(FunctionSpec::Command),
            _ => None,
        };
        match spec {
            Some(s) => setup.functions.push((k.name.clone(), s)),
            None => reader.problem(
                v.pos,
                format!("function '{}' must be an http:// URL or a command list", k.name),
                Some("for example check: http://127.0.0.1:9000/hook, or check: [./hook.sh, --fast]".into()),
            ),
        }
    }
}

const IMAGE_FIELDS: [&str; 12] = [
    "startDelay",
    "exitAfter",
    "exitCode",
    "startFailure",
    "health",
    "unhealthyAfter",
    "ignoreSigterm",
    "errorRate",
    "latency",
    "version",
    "cpuPercent",
    "memoryPercent",
];

fn read_images(reader: &mut Reader<'_>, node: &Node, setup: &mut Setup) {
    let Some(map) = node.as_map() else {
        reader.problem(node.pos, "setup.images must map image names to behaviours", None);
        return;
    };
    for (image, model) in map {
        let what = format!("setup.images '{}'", image.name);
        let Some(fields) = reader.members(model, &what, &IMAGE_FIELDS) else {
            continue;
        };
        let mut env = Vec::new();
        for (k, v) in fields {
            let at = format!("{what}.{}", k.name);
            let entry = match k.name.as_str() {
                "startDelay" => reader
                    .duration(v, &at)
                    .map(|ms| ("ECSIM_START_DELAY_MS", ms.to_string())),
                "exitAfter" => reader
                    .duration(v, &at)
                    .map(|ms| ("ECSIM_EXIT_AFTER_SECONDS", seconds(ms))),
                "unhealthyAfter" => reader
                    .duration(v, &at)
                    .map(|ms| ("ECSIM_UNHEALTHY_AFTER_SECONDS", seconds(ms))),
                "latency" => reader
                    .duration(v, &at)
                    .map(|ms| ("ECSIM_LATENCY_MS", ms.to_string())),
                "exitCode" => reader
                    .integer(v, &at, 0, 255)
                    .map(|n| ("ECSIM_EXIT_CODE", n.to_string())),
                "startFailure" => reader.string(v, &at).map(|s| ("ECSIM_START_FAILURE", s)),
                "version" => reader.string(v, &at).map(|s| ("ECSIM_VERSION", s)),
                "health" => match v.as_str() {
                    Some(h @ ("HEALTHY" | "UNHEALTHY")) => Some(("ECSIM_HEALTH", h.to_string())),
                    _ => {
                        reader.problem(v.pos, format!("{at} must be HEALTHY or UNHEALTHY"), None);
                        None
                    }
                },
                "ignoreSigterm" => match v.value {
                    NodeValue::Bool(b) => Some(("ECSIM_IGNORE_SIGTERM", b.to_string())),
                    _ => {
                        reader.problem(v.pos, format!("{at} must be true or false"), None);
                        None
                    }
                },
                "errorRate" => match percent_or_fraction(v) {
                    Some(f) => Some(("ECSIM_ERROR_RATE", f.to_string())),
                    None => {
                        reader.problem(
                            v.pos,
                            format!("{at} must be a fraction from 0 to 1 or a percentage such as '25%'"),
                            None,
                        );
                        None
                    }
                },
                "cpuPercent" | "memoryPercent" => match v.as_f64() {
                    Some(p) if (0.0..=100.0).contains(&p) => Some((
                        if k.name == "cpuPercent" {
                            "ECSIM_CPU_PERCENT"
                        } else {
                            "ECSIM_MEMORY_PERCENT"
                        },
                        p.to_string(),
                    )),
                    _ => {
                        reader.problem(v.pos, format!("{at} must be a number from 0 to 100"), None);
                        None
                    }
                },
                _ => None,
            };
            if let Some((name, value)) = entry {
                env.push((name.to_string(), value));
            }
        }
        // A scenario's own entry replaces the one its file's shared setup gave for the image.
        setup.images.retain(|m| m.image != image.name);
        setup.images.insert(
            0,
            ImageModel {
                image: image.name.clone(),
                env,
            },
        );
    }
}

fn seconds(ms: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // durations are bounded by 30 days
    let s = ms as f64 / 1_000.0;
    s.to_string()
}

fn percent_or_fraction(node: &Node) -> Option<f64> {
    let f = match &node.value {
        NodeValue::Str(s) => s.trim().strip_suffix('%')?.trim().parse::<f64>().ok()? / 100.0,
        _ => node.as_f64()?,
    };
    (0.0..=1.0).contains(&f).then_some(f)
}

fn read_step(reader: &mut Reader<'_>, node: &Node) -> Option<Step> {
    let Some(map) = node.as_map() else {
        reader.problem(
            node.pos,
            format!("a step must be a mapping, not {}", node.kind_name()),
            Some(format!("start it with one of: {}", STEP_KINDS.join(", "))),
        );
        return None;
    };
    let kinds: Vec<&(Key, Node)> = map
        .iter()
        .filter(|(k, _)| STEP_KINDS.contains(&k.name.as_str()))
        .collect();
    let (kind_key, body) = match kinds.as_slice() {
        [one] => (&one.0, &one.1),
        [] => {
            let first = map.iter().find(|(k, _)| k.name != "name");
            let hint = first.map_or_else(
                || format!("expected one of: {}", STEP_KINDS.join(", ")),
                |(k, _)| suggest(&k.name, &STEP_KINDS),
            );
            let word = first.map_or("nothing", |(k, _)| k.name.as_str());
            reader.problem(
                first.map_or(node.pos, |(k, _)| k.pos),
                format!("unknown step '{word}'"),
                Some(hint),
            );
            return None;
        }
        _ => {
            reader.problem(
                node.pos,
                format!(
                    "a step has exactly one of {}; this one has {}",
                    STEP_KINDS.join(", "),
                    kinds
                        .iter()
                        .map(|(k, _)| k.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
                None,
            );
            return None;
        }
    };
    let name = node.get("name").and_then(|n| reader.string(n, "name"));
    let kind = match kind_key.name.as_str() {
        "call" => {
            reader.members(
                node,
                "a call step",
                &["name", "call", "input", "capture", "expectError"],
            );
            let (service, operation) = call_target(reader, body)?;
            let input = node
                .get("input")
                .map_or(Value::Object(serde_json::Map::new()), Node::to_json);
            if let Some(input_node) = node.get("input") {
                crate::check::input(reader, &service, &operation, input_node);
            }
            let capture = read_capture(reader, node.get("capture"));
            let expect_error = node
                .get("expectError")
                .and_then(|n| reader.string(n, "expectError"));
            StepKind::Call {
                service,
                operation,
                input,
                capture,
                expect_error,
            }
        }
        "wait" => {
            reader.members(node, "a wait step", &["name", "wait", "timeout"]);
            read_condition(reader, body);
            let timeout_ms = match node.get("timeout") {
                Some(t) => reader.duration(t, "timeout")?,
                None => {
                    reader.problem(
                        node.pos,
                        "a wait step needs a timeout (scenario time)",
                        Some("for example `timeout: 10m`".into()),
                    );
                    return None;
                }
            };
            StepKind::Wait {
                condition: body.to_json(),
                timeout_ms,
            }
        }
        "advance" => {
            reader.members(node, "an advance step", &["name", "advance"]);
            StepKind::Advance {
                by_ms: reader.duration(body, "advance")?,
            }
        }
        "fault" => {
            reader.members(node, "a fault step", &["name", "fault", "capture"]);
            if body.as_map().is_none() || body.get("type").is_none() {
                reader.problem(body.pos, "fault must be a mapping with a type, as POST /_ecsim/faults takes", Some("types: stopTask, crashTask, failHealthChecks, latency, errorRate, azOutage, azRecovery, alarmState".into()));
                return None;
            }
            let capture = node.get("capture").and_then(|n| reader.string(n, "capture"));
            StepKind::Fault {
                spec: body.to_json(),
                capture,
            }
        }
        "traffic" => {
            reader.members(node, "a traffic step", &["name", "traffic"]);
            StepKind::Traffic(read_traffic(reader, body)?)
        }
        "expect" => {
            reader.members(node, "an expect step", &["name", "expect"]);
            let items: Vec<&Node> = match &body.value {
                NodeValue::Seq(items) => items.iter().collect(),
                _ => vec![body],
            };
            let checks = items
                .into_iter()
                .filter_map(|i| read_expectation(reader, i))
                .collect();
            StepKind::Expect { checks }
        }
        _ => return None,
    };
    Some(Step {
        line: node.pos.line,
        name,
        kind,
    })
}

fn read_capture(reader: &mut Reader<'_>, node: Option<&Node>) -> Vec<(String, Path)> {
    let Some(node) = node else {
        return Vec::new();
    };
    let Some(map) = node.as_map() else {
        reader.problem(
            node.pos,
            "capture must map variable names to paths in the answer",
            Some("for example `capture: {serviceArn: service.serviceArn}`".into()),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let Some(text) = reader.string(v, "a capture path") else {
            continue;
        };
        match Path::parse(&text) {
            Ok(p) => out.push((k.name.clone(), p)),
            Err(e) => reader.problem(v.pos, e, None),
        }
    }
    out
}

fn read_condition(reader: &mut Reader<'_>, node: &Node) {
    let Some(map) = node.as_map() else {
        reader.problem(
            node.pos,
            "wait must be a mapping with one condition",
            Some(format!("conditions: {}", WAIT_CONDITIONS.join(", "))),
        );
        return;
    };
    if map.len() != 1 {
        reader.problem(
            node.pos,
            "wait takes exactly one condition",
            Some(format!("conditions: {}", WAIT_CONDITIONS.join(", "))),
        );
        return;
    }
    let (k, v) = &map[0];
    if !WAIT_CONDITIONS.contains(&k.name.as_str()) {
        reader.problem(
            k.pos,
            format!("unknown condition '{}'", k.name),
            Some(suggest(&k.name, &WAIT_CONDITIONS)),
        );
        return;
    }
    let fields: &[&str] = match k.name.as_str() {
        "serviceStable" => &["cluster", "service"],
        "taskCount" => &[
            "cluster",
            "service",
            "lastStatus",
            "atLeast",
            "count",
            "availabilityZone",
            "taskDefinition",
        ],
        "alarmState" => &["alarmName", "state"],
        "targetHealth" => &["targetGroupArn", "state", "atLeast", "count"],
        "deployment" => &["deploymentId", "status"],
        "serviceDeployment" => &["cluster", "service", "status"],
        _ => &["call", "input", "path"],
    };
    let mut fields = fields.to_vec();
    if k.name == "that" {
        fields.extend(crate::matcher::NAMES);
    }
    reader.members(v, &format!("condition {}", k.name), &fields);
    // Required fields, and for `that` at least one matcher: a condition that could never be
    // checked is a mistake in the file, not a wait that holds at once.
    let required: &[&str] = match k.name.as_str() {
        "serviceStable" => &["cluster", "service"],
        "taskCount" => &["cluster", "lastStatus"],
        "alarmState" => &["alarmName", "state"],
        "targetHealth" => &["targetGroupArn", "state"],
        "deployment" => &["deploymentId", "status"],
        "serviceDeployment" => &["cluster", "service", "status"],
        _ => &["call"],
    };
    for field in required {
        reader.required(v, field, &format!("condition {}", k.name));
    }
    if matches!(k.name.as_str(), "taskCount" | "targetHealth")
        && v.get("atLeast").is_some() == v.get("count").is_some()
    {
        reader.problem(
            v.pos,
            format!("condition {} needs exactly one of atLeast or count", k.name),
            None,
        );
    }
    if k.name == "that" && !crate::matcher::NAMES.iter().any(|m| v.get(m).is_some()) {
        reader.problem(
            v.pos,
            "condition that names no matcher",
            Some(format!("matchers: {}", crate::matcher::NAMES.join(", "))),
        );
    }
    if k.name == "that"
        && let Some(call) = v.get("call")
        && let Some((service, operation)) = call_target(reader, call)
        && let Some(input) = v.get("input")
    {
        crate::check::input(reader, &service, &operation, input);
    }
}

fn read_traffic(reader: &mut Reader<'_>, node: &Node) -> Option<TrafficStep> {
    reader.members(
        node,
        "traffic",
        &[
            "run",
            "loadBalancer",
            "port",
            "requestsPerSecond",
            "duration",
            "path",
        ],
    )?;
    let load_balancer = reader.required(node, "loadBalancer", "traffic")?.to_json();
    let requests_per_second = match node.get("requestsPerSecond") {
        Some(n) => u32::try_from(reader.integer(n, "traffic.requestsPerSecond", 1, 1_000)?).ok()?,
        None => 10,
    };
    let Some(duration_node) = node.get("duration") else {
        reader.problem(
            node.pos,
            "traffic needs a duration",
            Some("for example `duration: 12m`".into()),
        );
        return None;
    };
    let duration_ms = reader.duration(duration_node, "traffic.duration")?;
    if duration_ms > 86_400_000 {
        reader.problem(duration_node.pos, "traffic.duration must be at most 24h", None);
        return None;
    }
    if duration_ms < 1_000 {
        reader.problem(duration_node.pos, "traffic.duration must be at least 1s", None);
        return None;
    }
    let port = match node.get("port") {
        Some(p) => Some(u16::try_from(reader.integer(p, "traffic.port", 1, 65_535)?).ok()?),
        None => None,
    };
    let path = match node.get("path") {
        Some(p) => {
            let s = reader.string(p, "traffic.path")?;
            if !s.starts_with('/') {
                reader.problem(p.pos, "traffic.path must start with '/'", None);
                return None;
            }
            s
        }
        None => "/".into(),
    };
    let run = node
        .get("run")
        .and_then(|r| reader.string(r, "traffic.run"))
        .unwrap_or_default();
    Some(TrafficStep {
        run,
        load_balancer,
        port,
        requests_per_second,
        duration_ms,
        path,
    })
}

fn read_expectation(reader: &mut Reader<'_>, node: &Node) -> Option<Expectation> {
    let Some(map) = node.as_map() else {
        reader.problem(
            node.pos,
            "an expectation must be a mapping",
            Some(format!("expectations: {}", EXPECT_KINDS.join(", "))),
        );
        return None;
    };
    if map.len() != 1 {
        reader.problem(
            node.pos,
            "each expectation has exactly one kind; list several under expect:",
            Some(format!("expectations: {}", EXPECT_KINDS.join(", "))),
        );
        return None;
    }
    let (k, body) = &map[0];
    let line = k.pos.line;
    let kind = match k.name.as_str() {
        "that" => {
            let mut allowed = vec!["call", "input", "value", "path"];
            allowed.extend(crate::matcher::NAMES);
            reader.members(body, "that", &allowed)?;
            let source = match (body.get("call"), body.get("value")) {
                (Some(call), None) => {
                    let (service, operation) = call_target(reader, call)?;
                    if let Some(input) = body.get("input") {
                        crate::check::input(reader, &service, &operation, input);
                    }
                    ThatSource::Call {
                        service,
                        operation,
                        input: body
                            .get("input")
                            .map_or(Value::Object(serde_json::Map::new()), Node::to_json),
                    }
                }
                (None, Some(value)) => ThatSource::Value(value.to_json()),
                _ => {
                    reader.problem(
                        body.pos,
                        "that needs exactly one of call (with input) or value",
                        None,
                    );
                    return None;
                }
            };
            let path_text = match body.get("path") {
                Some(p) => reader.string(p, "path")?,
                None => String::new(),
            };
            if !path_text.contains("${")
                && let Err(e) = Path::parse(&path_text)
            {
                reader.problem(body.get("path").map_or(body.pos, |p| p.pos), e, None);
                return None;
            }
            let path = path_text;
            let matchers = reader.matchers(body, "that", &["call", "input", "value", "path"]);
            if matchers.is_empty() {
                reader.problem(
                    body.pos,
                    "that names no matcher",
                    Some(format!("matchers: {}", crate::matcher::NAMES.join(", "))),
                );
                return None;
            }
            ExpectKind::That {
                source,
                path,
                matchers,
            }
        }
        "traffic" => {
            reader.members(
                body,
                "traffic expectation",
                &[
                    "run",
                    "version",
                    "targetGroup",
                    "since",
                    "share",
                    "tolerance",
                    "requests",
                    "errors",
                    "tasks",
                ],
            )?;
            let text =
                |reader: &mut Reader<'_>, field: &str| body.get(field).and_then(|n| reader.string(n, field));
            let share_pct = match body.get("share") {
                Some(n) => match n.as_f64() {
                    Some(p) if (0.0..=100.0).contains(&p) => Some(p),
                    _ => {
                        reader.problem(n.pos, "share is a percentage from 0 to 100", None);
                        return None;
                    }
                },
                None => None,
            };
            let tolerance_pct = body.get("tolerance").and_then(Node::as_f64).unwrap_or(2.0);
            let requests = body
                .get("requests")
                .map(|n| reader.matcher_or_value(n, "requests"))
                .unwrap_or_default();
            let errors = body
                .get("errors")
                .map(|n| reader.matcher_or_value(n, "errors"))
                .unwrap_or_default();
            let tasks = body
                .get("tasks")
                .map(|n| reader.matcher_or_value(n, "tasks"))
                .unwrap_or_default();
            if share_pct.is_none() && requests.is_empty() && errors.is_empty() && tasks.is_empty() {
                reader.problem(
                    body.pos,
                    "a traffic expectation checks share, requests, errors or tasks",
                    None,
                );
                return None;
            }
            if share_pct.is_some() && body.get("version").is_none() && body.get("targetGroup").is_none() {
                reader.problem(body.pos, "share needs a version or a targetGroup", None);
                return None;
            }
            ExpectKind::Traffic {
                run: text(reader, "run"),
                version: text(reader, "version"),
                target_group: text(reader, "targetGroup"),
                since: text(reader, "since"),
                share_pct,
                tolerance_pct,
                requests,
                errors,
                tasks,
            }
        }
        "alarmHistory" => {
            reader.members(body, "alarmHistory", &["alarmName", "reached", "never"])?;
            let alarm_name = reader.required(body, "alarmName", "alarmHistory")?.to_json();
            let state = |reader: &mut Reader<'_>, field: &str| -> Option<String> {
                let n = body.get(field)?;
                match n.as_str() {
                    Some(s @ ("OK" | "ALARM" | "INSUFFICIENT_DATA")) => Some(s.to_string()),
                    _ => {
                        reader.problem(
                            n.pos,
                            format!("{field} must be OK, ALARM or INSUFFICIENT_DATA"),
                            None,
                        );
                        None
                    }
                }
            };
            let reached = state(reader, "reached");
            let never = state(reader, "never");
            if reached.is_none() && never.is_none() {
                reader.problem(body.pos, "alarmHistory needs reached or never", None);
                return None;
            }
            ExpectKind::AlarmHistory {
                alarm_name,
                reached,
                never,
            }
        }
        "deploymentHistory" => {
            reader.members(body, "deploymentHistory", &["deployment", "service", "states"])?;
            let states: Vec<String> = match body.get("states").and_then(Node::as_seq) {
                Some(items) if !items.is_empty() => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect(),
                _ => {
                    reader.problem(body.pos, "deploymentHistory needs states: a non-empty list of states in the order they must appear", None);
                    return None;
                }
            };
            let deployment = body.get("deployment").map(Node::to_json);
            let service = body.get("service").and_then(|n| reader.string(n, "service"));
            if deployment.is_some() == service.is_some() {
                reader.problem(body.pos, "deploymentHistory needs exactly one of deployment (a CodeDeploy id) or service (an ECS service name)", None);
                return None;
            }
            ExpectKind::DeploymentHistory {
                deployment,
                service,
                states,
            }
        }
        "events" => {
            reader.members(body, "events", &["contains", "count"])?;
            let contains = reader.required(body, "contains", "events")?.to_json();
            let count = body
                .get("count")
                .map(|n| reader.matcher_or_value(n, "count"))
                .unwrap_or_default();
            ExpectKind::Events { contains, count }
        }
        "running" => {
            reader.members(
                body,
                "running",
                &[
                    "since",
                    "service",
                    "taskDefinition",
                    "availabilityZone",
                    "min",
                    "max",
                    "now",
                ],
            )?;
            let text =
                |reader: &mut Reader<'_>, field: &str| body.get(field).and_then(|n| reader.string(n, field));
            let service = text(reader, "service");
            let task_definition = text(reader, "taskDefinition");
            let zone = text(reader, "availabilityZone");
            let min = body
                .get("min")
                .map(|n| reader.matcher_or_value(n, "min"))
                .unwrap_or_default();
            let max = body
                .get("max")
                .map(|n| reader.matcher_or_value(n, "max"))
                .unwrap_or_default();
            let now = body
                .get("now")
                .map(|n| reader.matcher_or_value(n, "now"))
                .unwrap_or_default();
            if min.is_empty() && max.is_empty() && now.is_empty() {
                reader.problem(body.pos, "running needs min, max or now", None);
                return None;
            }
            let since = text(reader, "since");
            ExpectKind::Running {
                since,
                service,
                task_definition,
                zone,
                min,
                max,
                now,
            }
        }
        other => {
            reader.problem(
                k.pos,
                format!("unknown expectation '{other}'"),
                Some(suggest(other, &EXPECT_KINDS)),
            );
            return None;
        }
    };
    Some(Expectation { line, kind })
}

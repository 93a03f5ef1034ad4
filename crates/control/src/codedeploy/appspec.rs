//! Parses an ECS AppSpec — the `appSpecContent` of a CodeDeploy revision, YAML or JSON — into what a
//! blue/green deployment needs: the replacement task set's settings and the lifecycle hooks.
//!
//! Pure and shape-only: no IO, and no look-ups. Whether the task definition, container, capacity
//! providers or hook functions exist is checked by the deployment, not here.

use ecsim_api::ecs::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, NetworkConfiguration,
};
use serde_json::{Map, Value};

/// The only resource type an ECS deployment takes.
const ECS_SERVICE_TYPE: &str = "AWS::ECS::Service";

/// ECS limits on a capacity provider strategy item (CreateTaskSet rejects anything outside them).
const CAPACITY_PROVIDER_WEIGHT_MAX: i64 = 1_000;
const CAPACITY_PROVIDER_BASE_MAX: i64 = 100_000;

/// What an ECS AppSpec asks for: the replacement task set and the hooks to run around it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    /// `Resources[0].<name>.Properties.TaskDefinition`: the replacement task set's task definition
    /// (an ARN or `family:revision`, exactly as written).
    pub task_definition: String,
    /// `…LoadBalancerInfo.ContainerName`: the container the target groups route to.
    pub container_name: String,
    /// `…LoadBalancerInfo.ContainerPort`.
    pub container_port: u16,
    /// `…PlatformVersion` (Fargate), as written.
    pub platform_version: Option<String>,
    /// `…NetworkConfiguration.AwsvpcConfiguration`, for awsvpc task definitions.
    pub network_configuration: Option<NetworkConfiguration>,
    /// `…CapacityProviderStrategy`; empty when not given.
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    /// `Hooks`, in file order: each hookable event at most once, with its Lambda function name or ARN.
    pub hooks: Vec<(HookEvent, String)>,
}

impl AppSpec {
    /// The Lambda function (name or ARN) hooked to `event`, if any.
    pub fn hook(&self, event: HookEvent) -> Option<&str> {
        self.hooks
            .iter()
            .find(|(e, _)| *e == event)
            .map(|(_, function)| function.as_str())
    }
}

/// An ECS lifecycle event an AppSpec can hook. Start, Install, AllowTestTraffic, AllowTraffic and
/// End are lifecycle events too, but CodeDeploy runs them itself and takes no hook for them.
/// Ordered as the lifecycle runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HookEvent {
    BeforeInstall,
    AfterInstall,
    AfterAllowTestTraffic,
    BeforeAllowTraffic,
    AfterAllowTraffic,
}

impl HookEvent {
    /// Every hookable event, in lifecycle order.
    pub const ALL: [HookEvent; 5] = [
        HookEvent::BeforeInstall,
        HookEvent::AfterInstall,
        HookEvent::AfterAllowTestTraffic,
        HookEvent::BeforeAllowTraffic,
        HookEvent::AfterAllowTraffic,
    ];

    /// The event's name as AppSpec files and `lifecycleEventName` spell it.
    pub fn name(self) -> &'static str {
        match self {
            HookEvent::BeforeInstall => "BeforeInstall",
            HookEvent::AfterInstall => "AfterInstall",
            HookEvent::AfterAllowTestTraffic => "AfterAllowTestTraffic",
            HookEvent::BeforeAllowTraffic => "BeforeAllowTraffic",
            HookEvent::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    /// The hookable event named `s`, matched case-insensitively like every other AppSpec key;
    /// `None` for the non-hookable events and anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|event| event.name().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for HookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses an ECS AppSpec given as YAML or JSON. The error is one sentence naming the offending key,
/// fit to be the message of an `InvalidRevisionException`-style error.
pub fn parse(content: &str) -> Result<AppSpec, String> {
    let document = load(content)?;
    let root = document.as_object().ok_or_else(|| {
        "AppSpec content must be a mapping with the keys version, Resources and Hooks.".to_string()
    })?;
    check_version(root)?;
    let (properties, path) = ecs_service_properties(root)?;

    let task_definition = string(
        required(properties, "TaskDefinition", &path)?,
        &join(&path, "TaskDefinition"),
    )?;

    let lb_path = join(&path, "LoadBalancerInfo");
    let lb = object(required(properties, "LoadBalancerInfo", &path)?, &lb_path)?;
    let container_name = string(
        required(lb, "ContainerName", &lb_path)?,
        &join(&lb_path, "ContainerName"),
    )?;
    let port_path = join(&lb_path, "ContainerPort");
    let port = integer(required(lb, "ContainerPort", &lb_path)?, &port_path)?;
    let container_port = u16::try_from(port)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("AppSpec {port_path} must be a port between 1 and 65535, not {port}."))?;

    let platform_version = field(properties, "PlatformVersion", &path)?
        .map(|v| string(v, &join(&path, "PlatformVersion")))
        .transpose()?;
    let network_configuration = field(properties, "NetworkConfiguration", &path)?
        .map(|v| network_configuration(v, &join(&path, "NetworkConfiguration")))
        .transpose()?;
    let capacity_provider_strategy = field(properties, "CapacityProviderStrategy", &path)?
        .map(|v| capacity_provider_strategy(v, &join(&path, "CapacityProviderStrategy")))
        .transpose()?
        .unwrap_or_default();

    let hooks = field(root, "Hooks", "")?
        .map(hooks)
        .transpose()?
        .unwrap_or_default();

    Ok(AppSpec {
        task_definition,
        container_name,
        container_port,
        platform_version,
        network_configuration,
        capacity_provider_strategy,
        hooks,
    })
}

/// Reads the document. JSON first: it is what the GitHub action sends, it is faster, and its
/// errors are exact; YAML (a superset of JSON) second.
fn load(content: &str) -> Result<Value, String> {
    let json_error = match serde_json::from_str::<Value>(content) {
        Ok(document) => return Ok(document),
        Err(e) => e,
    };
    match serde_norway::from_str::<Value>(content) {
        Ok(document) => Ok(document),
        // Report the error of the syntax the author evidently meant.
        Err(_) if content.trim_start().starts_with(['{', '[']) => {
            Err(format!("AppSpec content is not valid JSON: {json_error}."))
        }
        Err(yaml_error) => Err(format!("AppSpec content is not valid YAML: {yaml_error}.")),
    }
}

/// `version` must be 0.0, the only AppSpec version there is, as a number or a string.
fn check_version(root: &Map<String, Value>) -> Result<(), String> {
    let version = field(root, "version", "")?
        .ok_or_else(|| "AppSpec is missing the top-level key version, which must be 0.0.".to_string())?;
    let is_zero = match version {
        Value::Number(n) => n.as_f64().is_some_and(|v| v == 0.0),
        Value::String(s) => s.trim() == "0.0",
        _ => false,
    };
    if is_zero {
        Ok(())
    } else {
        Err(format!("AppSpec version must be 0.0, not {version}."))
    }
}

/// The `Properties` of the one `AWS::ECS::Service` resource, with their path for error messages.
/// An ECS deployment replaces one service's task set, so `Resources` holds exactly one resource: a
/// single-key mapping from a name the author chooses (conventionally `TargetService`) to
/// `{Type, Properties}`.
fn ecs_service_properties(root: &Map<String, Value>) -> Result<(&Map<String, Value>, String), String> {
    let resources = list(required(root, "Resources", "")?, "Resources")?;
    let entry = match resources {
        [entry] => entry,
        [] => {
            return Err(format!(
                "AppSpec Resources is empty; it must list one {ECS_SERVICE_TYPE} resource."
            ));
        }
        more => {
            return Err(format!(
                "AppSpec Resources lists {} resources; an ECS deployment takes exactly one {ECS_SERVICE_TYPE}.",
                more.len()
            ));
        }
    };
    let (name, resource) = single_entry(object(entry, "Resources[0]")?).ok_or_else(|| {
        "AppSpec Resources[0] must be a mapping with one key, the resource's name (e.g. TargetService)."
            .to_string()
    })?;
    let path = format!("Resources[0].{name}");
    let resource = object(resource, &path)?;
    let resource_type = string(required(resource, "Type", &path)?, &join(&path, "Type"))?;
    if resource_type != ECS_SERVICE_TYPE {
        return Err(format!(
            "AppSpec {path}.Type is {resource_type}; an ECS deployment needs {ECS_SERVICE_TYPE}."
        ));
    }
    let properties_path = join(&path, "Properties");
    let properties = object(required(resource, "Properties", &path)?, &properties_path)?;
    Ok((properties, properties_path))
}

/// `NetworkConfiguration: {AwsvpcConfiguration: {Subnets, SecurityGroups, AssignPublicIp}}`.
fn network_configuration(value: &Value, path: &str) -> Result<NetworkConfiguration, String> {
    let map = object(value, path)?;
    let vpc_path = join(path, "AwsvpcConfiguration");
    let vpc = object(required(map, "AwsvpcConfiguration", path)?, &vpc_path)?;

    let subnets_path = join(&vpc_path, "Subnets");
    let subnets = strings(required(vpc, "Subnets", &vpc_path)?, &subnets_path)?;
    if subnets.is_empty() {
        return Err(format!("AppSpec {subnets_path} must list at least one subnet."));
    }
    let security_groups = field(vpc, "SecurityGroups", &vpc_path)?
        .map(|v| strings(v, &join(&vpc_path, "SecurityGroups")))
        .transpose()?;
    let assign_public_ip = field(vpc, "AssignPublicIp", &vpc_path)?
        .map(|v| {
            let ip_path = join(&vpc_path, "AssignPublicIp");
            match string(v, &ip_path)?.as_str() {
                "ENABLED" => Ok(AssignPublicIp::Enabled),
                "DISABLED" => Ok(AssignPublicIp::Disabled),
                other => Err(format!(
                    "AppSpec {ip_path} must be ENABLED or DISABLED, not {other}."
                )),
            }
        })
        .transpose()?;

    Ok(NetworkConfiguration {
        awsvpc_configuration: Some(AwsVpcConfiguration {
            subnets,
            security_groups,
            assign_public_ip,
        }),
    })
}

/// `CapacityProviderStrategy: [{CapacityProvider, Weight, Base}]`.
fn capacity_provider_strategy(
    value: &Value,
    path: &str,
) -> Result<Vec<CapacityProviderStrategyItem>, String> {
    list(value, path)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let item_path = format!("{path}[{i}]");
            let map = object(item, &item_path)?;
            let capacity_provider = string(
                required(map, "CapacityProvider", &item_path)?,
                &join(&item_path, "CapacityProvider"),
            )?;
            let weight = bounded(map, "Weight", &item_path, CAPACITY_PROVIDER_WEIGHT_MAX)?;
            let base = bounded(map, "Base", &item_path, CAPACITY_PROVIDER_BASE_MAX)?;
            Ok(CapacityProviderStrategyItem {
                capacity_provider,
                weight,
                base,
            })
        })
        .collect()
}

/// An optional integer field in `0..=max`.
fn bounded(map: &Map<String, Value>, key: &str, path: &str, max: i64) -> Result<Option<i32>, String> {
    let Some(value) = field(map, key, path)? else {
        return Ok(None);
    };
    let key_path = join(path, key);
    let n = integer(value, &key_path)?;
    match i32::try_from(n) {
        Ok(v) if (0..=max).contains(&n) => Ok(Some(v)),
        _ => Err(format!(
            "AppSpec {key_path} must be between 0 and {max}, not {n}."
        )),
    }
}

/// `Hooks: [{EventName: function}, …]`, each hookable event at most once.
fn hooks(value: &Value) -> Result<Vec<(HookEvent, String)>, String> {
    let entries = list(value, "Hooks")?;
    let mut hooks: Vec<(HookEvent, String)> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let entry_path = format!("Hooks[{i}]");
        let (name, function) = single_entry(object(entry, &entry_path)?).ok_or_else(|| {
            format!("AppSpec {entry_path} must be a mapping with one key, a lifecycle event name.")
        })?;
        let event = HookEvent::parse(name).ok_or_else(|| {
            let hookable: Vec<&str> = HookEvent::ALL.iter().map(|e| e.name()).collect();
            format!(
                "AppSpec {entry_path} names {name}, which is not a hookable ECS lifecycle event; use one of {}.",
                hookable.join(", ")
            )
        })?;
        if hooks.iter().any(|(seen, _)| *seen == event) {
            return Err(format!(
                "AppSpec Hooks lists {event} more than once; each event takes one hook."
            ));
        }
        let function = string(function, &format!("{entry_path}.{name}"))?;
        hooks.push((event, function));
    }
    Ok(hooks)
}

// --- generic access, with keys matched case-insensitively like the GitHub action does ---

/// `path.key`, or `key` at the top level.
fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `map[key]` matched case-insensitively; `null` (a YAML key with no value) counts as absent. Two
/// keys that differ only in case are an error rather than a silent pick of one.
fn field<'a>(map: &'a Map<String, Value>, key: &str, path: &str) -> Result<Option<&'a Value>, String> {
    let mut found: Option<(&str, &Value)> = None;
    for (k, v) in map {
        if k.eq_ignore_ascii_case(key) {
            if let Some((first, _)) = found {
                return Err(format!(
                    "AppSpec {} is given twice, as {first} and {k}; keys are case-insensitive.",
                    join(path, key)
                ));
            }
            found = Some((k, v));
        }
    }
    Ok(found.map(|(_, v)| v).filter(|v| !v.is_null()))
}

/// `map[key]`, which must be present.
fn required<'a>(map: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a Value, String> {
    field(map, key, path)?.ok_or_else(|| format!("AppSpec is missing {}.", join(path, key)))
}

/// The one key and value of a single-key mapping.
fn single_entry(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    let mut entries = map.iter();
    match (entries.next(), entries.next()) {
        (Some((k, v)), None) => Some((k.as_str(), v)),
        _ => None,
    }
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("AppSpec {path} must be a mapping."))
}

fn list<'a>(value: &'a Value, path: &str) -> Result<&'a [Value], String> {
    value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| format!("AppSpec {path} must be a list."))
}

/// A non-empty string.
fn string(value: &Value, path: &str) -> Result<String, String> {
    match value.as_str() {
        Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(format!("AppSpec {path} must be a non-empty string.")),
    }
}

/// A list of non-empty strings.
fn strings(value: &Value, path: &str) -> Result<Vec<String>, String> {
    list(value, path)?
        .iter()
        .enumerate()
        .map(|(i, item)| string(item, &format!("{path}[{i}]")))
        .collect()
}

/// A whole number, written as a number or a numeric string (templating tools often quote ports).
fn integer(value: &Value, path: &str) -> Result<i64, String> {
    let n = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.ok_or_else(|| format!("AppSpec {path} must be a whole number, not {value}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK_DEF: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:7";

    /// The example of aws-semantics.md 3.3, with a real capacity provider strategy.
    const EXAMPLE_YAML: &str = r#"
version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:7"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
        PlatformVersion: "LATEST"            # optional
        NetworkConfiguration:                # optional
          AwsvpcConfiguration:
            Subnets: ["subnet-a", "subnet-b"]
            SecurityGroups: ["sg-1"]
            AssignPublicIp: "DISABLED"
        CapacityProviderStrategy:            # optional
          - CapacityProvider: FARGATE_SPOT
            Weight: 3
          - CapacityProvider: FARGATE
            Base: 1
            Weight: 1
Hooks:
  - BeforeInstall: "before-install"
  - AfterInstall: "after-install"
  - AfterAllowTestTraffic: "arn:aws:lambda:us-east-1:000000000000:function:after-test"
  - BeforeAllowTraffic: "before-allow"
  - AfterAllowTraffic: "after-allow"
"#;

    const EXAMPLE_JSON: &str = r#"{
  "version": 0.0,
  "Resources": [
    {
      "TargetService": {
        "Type": "AWS::ECS::Service",
        "Properties": {
          "TaskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:7",
          "LoadBalancerInfo": { "ContainerName": "web", "ContainerPort": 8080 },
          "PlatformVersion": "LATEST",
          "NetworkConfiguration": {
            "AwsvpcConfiguration": {
              "Subnets": ["subnet-a", "subnet-b"],
              "SecurityGroups": ["sg-1"],
              "AssignPublicIp": "DISABLED"
            }
          },
          "CapacityProviderStrategy": [
            { "CapacityProvider": "FARGATE_SPOT", "Weight": 3 },
            { "CapacityProvider": "FARGATE", "Base": 1, "Weight": 1 }
          ]
        }
      }
    }
  ],
  "Hooks": [
    { "BeforeInstall": "before-install" },
    { "AfterInstall": "after-install" },
    { "AfterAllowTestTraffic": "arn:aws:lambda:us-east-1:000000000000:function:after-test" },
    { "BeforeAllowTraffic": "before-allow" },
    { "AfterAllowTraffic": "after-allow" }
  ]
}"#;

    /// A minimal valid YAML AppSpec with `extra` appended (at the top level).
    fn minimal_with(extra: &str) -> String {
        format!(
            "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n        \
             TaskDefinition: web:7\n        LoadBalancerInfo:\n          ContainerName: web\n          \
             ContainerPort: 80\n{extra}"
        )
    }

    fn expected_example() -> AppSpec {
        AppSpec {
            task_definition: TASK_DEF.to_string(),
            container_name: "web".to_string(),
            container_port: 8080,
            platform_version: Some("LATEST".to_string()),
            network_configuration: Some(NetworkConfiguration {
                awsvpc_configuration: Some(AwsVpcConfiguration {
                    subnets: vec!["subnet-a".to_string(), "subnet-b".to_string()],
                    security_groups: Some(vec!["sg-1".to_string()]),
                    assign_public_ip: Some(AssignPublicIp::Disabled),
                }),
            }),
            capacity_provider_strategy: vec![
                CapacityProviderStrategyItem {
                    capacity_provider: "FARGATE_SPOT".to_string(),
                    weight: Some(3),
                    base: None,
                },
                CapacityProviderStrategyItem {
                    capacity_provider: "FARGATE".to_string(),
                    weight: Some(1),
                    base: Some(1),
                },
            ],
            hooks: vec![
                (HookEvent::BeforeInstall, "before-install".to_string()),
                (HookEvent::AfterInstall, "after-install".to_string()),
                (
                    HookEvent::AfterAllowTestTraffic,
                    "arn:aws:lambda:us-east-1:000000000000:function:after-test".to_string(),
                ),
                (HookEvent::BeforeAllowTraffic, "before-allow".to_string()),
                (HookEvent::AfterAllowTraffic, "after-allow".to_string()),
            ],
        }
    }

    fn parse_err(content: &str) -> String {
        match parse(content) {
            Ok(spec) => panic!("expected an error, parsed {spec:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn parses_the_yaml_example() {
        assert_eq!(parse(EXAMPLE_YAML), Ok(expected_example()));
    }

    #[test]
    fn parses_the_same_spec_as_json() {
        assert_eq!(parse(EXAMPLE_JSON), Ok(expected_example()));
    }

    #[test]
    fn matches_keys_case_insensitively() {
        let lower = EXAMPLE_YAML
            .replace("Resources", "resources")
            .replace("TargetService", "targetService")
            .replace("Type:", "type:")
            .replace("Properties", "properties")
            .replace("TaskDefinition", "taskDefinition")
            .replace("LoadBalancerInfo", "loadBalancerInfo")
            .replace("ContainerName", "containerName")
            .replace("ContainerPort", "containerPort")
            .replace("PlatformVersion", "platformversion")
            .replace("NetworkConfiguration", "networkConfiguration")
            .replace("AwsvpcConfiguration", "awsvpcConfiguration")
            .replace("Subnets", "subnets")
            .replace("SecurityGroups", "securityGroups")
            .replace("AssignPublicIp", "assignPublicIp")
            .replace("CapacityProviderStrategy", "capacityProviderStrategy")
            .replace("CapacityProvider:", "capacityProvider:")
            .replace("Weight", "weight")
            .replace("Base", "base")
            .replace("Hooks", "hooks")
            .replace("BeforeInstall", "beforeInstall")
            .replace("AfterAllowTraffic", "afterallowtraffic");
        assert_eq!(parse(&lower), Ok(expected_example()));
    }

    #[test]
    fn accepts_the_port_as_a_string_and_version_as_a_string() {
        let json = EXAMPLE_JSON
            .replace("\"ContainerPort\": 8080", "\"ContainerPort\": \"8080\"")
            .replace("\"version\": 0.0", "\"version\": \"0.0\"");
        assert_eq!(parse(&json), Ok(expected_example()));
        let yaml = minimal_with("").replace("ContainerPort: 80", "ContainerPort: \"443\"");
        assert_eq!(parse(&yaml).map(|s| s.container_port), Ok(443));
    }

    #[test]
    fn optional_parts_may_be_missing() {
        let spec = parse(&minimal_with("")).expect("minimal AppSpec parses");
        assert_eq!(spec.task_definition, "web:7");
        assert_eq!(spec.container_name, "web");
        assert_eq!(spec.container_port, 80);
        assert_eq!(spec.platform_version, None);
        assert_eq!(spec.network_configuration, None);
        assert!(spec.capacity_provider_strategy.is_empty());
        assert!(spec.hooks.is_empty());
        // A key with no value is as good as absent.
        assert_eq!(parse(&minimal_with("Hooks:\n")).map(|s| s.hooks), Ok(vec![]));
        assert_eq!(parse(&minimal_with("Hooks: []\n")).map(|s| s.hooks), Ok(vec![]));
    }

    #[test]
    fn hooks_keep_file_order_and_can_be_looked_up() {
        let spec = parse(&minimal_with(
            "Hooks:\n  - AfterAllowTraffic: last\n  - BeforeInstall: first\n",
        ))
        .expect("parses");
        assert_eq!(
            spec.hooks,
            vec![
                (HookEvent::AfterAllowTraffic, "last".to_string()),
                (HookEvent::BeforeInstall, "first".to_string()),
            ]
        );
        assert_eq!(spec.hook(HookEvent::BeforeInstall), Some("first"));
        assert_eq!(spec.hook(HookEvent::AfterInstall), None);
    }

    #[test]
    fn hook_event_names_round_trip() {
        for event in HookEvent::ALL {
            assert_eq!(HookEvent::parse(event.name()), Some(event));
            assert_eq!(HookEvent::parse(&event.name().to_lowercase()), Some(event));
        }
        for not_hookable in ["Start", "Install", "AllowTestTraffic", "AllowTraffic", "End", ""] {
            assert_eq!(HookEvent::parse(not_hookable), None, "{not_hookable}");
        }
        let mut sorted = HookEvent::ALL;
        sorted.sort();
        assert_eq!(sorted, HookEvent::ALL, "Ord follows the lifecycle");
    }

    #[test]
    fn version_is_required_and_must_be_zero() {
        let no_version = minimal_with("").replace("version: 0.0\n", "");
        assert!(
            parse_err(&no_version).contains("version"),
            "{}",
            parse_err(&no_version)
        );
        let e = parse_err(&minimal_with("").replace("version: 0.0", "version: 1.0"));
        assert!(e.contains("version must be 0.0"), "{e}");
        let e = parse_err(&minimal_with("").replace("version: 0.0", "version: \"1\""));
        assert!(e.contains("version must be 0.0"), "{e}");
        // Integer zero is the same number.
        assert!(parse(&minimal_with("").replace("version: 0.0", "version: 0")).is_ok());
    }

    #[test]
    fn needs_exactly_one_ecs_service_resource() {
        let e = parse_err("version: 0.0\nResources: []\n");
        assert!(e.contains("Resources is empty"), "{e}");
        let e = parse_err("version: 0.0\n");
        assert!(e.contains("missing Resources"), "{e}");
        let e = parse_err("version: 0.0\nResources: {}\n");
        assert!(e.contains("Resources must be a list"), "{e}");

        let two = EXAMPLE_JSON.replacen(
            "\"Resources\": [",
            "\"Resources\": [{\"Other\": {\"Type\": \"AWS::ECS::Service\", \"Properties\": {}}},",
            1,
        );
        let e = parse_err(&two);
        assert!(e.contains("lists 2 resources"), "{e}");

        let lambda = minimal_with("").replace("AWS::ECS::Service", "AWS::Lambda::Function");
        let e = parse_err(&lambda);
        assert!(
            e.contains("Resources[0].TargetService.Type is AWS::Lambda::Function"),
            "{e}"
        );

        let e = parse_err(&minimal_with("").replace("      Type: AWS::ECS::Service\n", ""));
        assert!(e.contains("missing Resources[0].TargetService.Type"), "{e}");
    }

    #[test]
    fn the_resource_name_is_free() {
        let spec = parse(&minimal_with("").replace("TargetService", "MyService")).expect("parses");
        assert_eq!(spec.container_port, 80);
    }

    #[test]
    fn required_properties_are_named_when_missing() {
        let cases = [
            ("        TaskDefinition: web:7\n", "Properties.TaskDefinition"),
            ("          ContainerName: web\n", "LoadBalancerInfo.ContainerName"),
            ("          ContainerPort: 80\n", "LoadBalancerInfo.ContainerPort"),
        ];
        for (line, key) in cases {
            let e = parse_err(&minimal_with("").replace(line, ""));
            assert!(e.contains("missing") && e.contains(key), "{key}: {e}");
        }
        let no_lb = minimal_with("")
            .replace("        LoadBalancerInfo:\n", "")
            .replace("          ContainerName: web\n          ContainerPort: 80\n", "");
        let e = parse_err(&no_lb);
        assert!(
            e.contains("missing Resources[0].TargetService.Properties.LoadBalancerInfo"),
            "{e}"
        );
        let e = parse_err(&minimal_with("").replace("TaskDefinition: web:7", "TaskDefinition: \"\""));
        assert!(e.contains("TaskDefinition must be a non-empty string"), "{e}");
    }

    #[test]
    fn container_port_must_be_a_port() {
        for bad in ["0", "65536", "-1", "http", "80.5", "[80]"] {
            let e =
                parse_err(&minimal_with("").replace("ContainerPort: 80", &format!("ContainerPort: {bad}")));
            assert!(e.contains("LoadBalancerInfo.ContainerPort"), "{bad}: {e}");
        }
        let max = minimal_with("").replace("ContainerPort: 80", "ContainerPort: 65535");
        assert_eq!(parse(&max).map(|s| s.container_port), Ok(65535));
    }

    #[test]
    fn unknown_or_unhookable_events_are_named() {
        for name in [
            "Install",
            "AllowTraffic",
            "AllowTestTraffic",
            "BeforeInstal",
            "ApplicationStart",
        ] {
            let e = parse_err(&minimal_with(&format!("Hooks:\n  - {name}: fn\n")));
            assert!(e.contains(&format!("Hooks[0] names {name}")), "{name}: {e}");
            assert!(e.contains("BeforeInstall, AfterInstall"), "{e}");
        }
    }

    #[test]
    fn an_event_hooked_twice_is_an_error() {
        let e = parse_err(&minimal_with(
            "Hooks:\n  - BeforeInstall: a\n  - beforeinstall: b\n",
        ));
        assert!(e.contains("lists BeforeInstall more than once"), "{e}");
    }

    #[test]
    fn malformed_hooks_are_errors() {
        let e = parse_err(&minimal_with("Hooks:\n  BeforeInstall: a\n"));
        assert!(e.contains("Hooks must be a list"), "{e}");
        let e = parse_err(&minimal_with(
            "Hooks:\n  - BeforeInstall: a\n    AfterInstall: b\n",
        ));
        assert!(e.contains("Hooks[0] must be a mapping with one key"), "{e}");
        let e = parse_err(&minimal_with("Hooks:\n  - BeforeInstall:\n"));
        assert!(
            e.contains("Hooks[0].BeforeInstall must be a non-empty string"),
            "{e}"
        );
    }

    #[test]
    fn network_configuration_is_checked() {
        let nc = |body: &str| minimal_with("").replace("Properties:\n", &format!("Properties:\n{body}"));
        let e = parse_err(&nc("        NetworkConfiguration:\n          Subnets: [a]\n"));
        assert!(
            e.contains(
                "missing Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration"
            ),
            "{e}"
        );
        let e = parse_err(&nc(
            "        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: []\n",
        ));
        assert!(
            e.contains("AwsvpcConfiguration.Subnets must list at least one subnet"),
            "{e}"
        );
        let e = parse_err(&nc(
            "        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: [a]\n            AssignPublicIp: PUBLIC\n",
        ));
        assert!(e.contains("AssignPublicIp must be ENABLED or DISABLED"), "{e}");
        let spec = parse(&nc(
            "        NetworkConfiguration:\n          AwsvpcConfiguration:\n            Subnets: [a]\n",
        ))
        .expect("parses");
        assert_eq!(
            spec.network_configuration,
            Some(NetworkConfiguration {
                awsvpc_configuration: Some(AwsVpcConfiguration {
                    subnets: vec!["a".to_string()],
                    security_groups: None,
                    assign_public_ip: None,
                }),
            })
        );
    }

    #[test]
    fn capacity_provider_strategy_is_checked() {
        let cps = |body: &str| {
            minimal_with("").replace(
                "Properties:\n",
                &format!("Properties:\n        CapacityProviderStrategy:\n{body}"),
            )
        };
        let e = parse_err(&cps("          - Weight: 1\n"));
        assert!(
            e.contains(
                "missing Resources[0].TargetService.Properties.CapacityProviderStrategy[0].CapacityProvider"
            ),
            "{e}"
        );
        let e = parse_err(&cps(
            "          - CapacityProvider: FARGATE\n            Weight: 1001\n",
        ));
        assert!(
            e.contains("CapacityProviderStrategy[0].Weight must be between 0 and 1000"),
            "{e}"
        );
        let e = parse_err(&cps(
            "          - CapacityProvider: FARGATE\n            Base: -1\n",
        ));
        assert!(
            e.contains("CapacityProviderStrategy[0].Base must be between 0 and 100000"),
            "{e}"
        );
    }

    #[test]
    fn keys_differing_only_in_case_are_ambiguous() {
        let e = parse_err(&minimal_with("Hooks: []\nhooks: []\n"));
        assert!(e.contains("Hooks is given twice"), "{e}");
    }

    #[test]
    fn unreadable_content_is_reported_in_its_syntax() {
        let e = parse_err("{\"version\": 0.0,");
        assert!(e.starts_with("AppSpec content is not valid JSON"), "{e}");
        let e = parse_err("version: 0.0\nResources: [\n");
        assert!(e.starts_with("AppSpec content is not valid YAML"), "{e}");
        let e = parse_err("");
        assert!(e.contains("must be a mapping"), "{e}");
        let e = parse_err("- just\n- a list\n");
        assert!(e.contains("must be a mapping"), "{e}");
    }
}

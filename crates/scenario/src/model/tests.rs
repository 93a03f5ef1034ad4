use super::*;

fn problems(text: &str) -> Vec<Problem> {
    parse_file("s.yaml", text).expect_err("the file should be refused")
}

const GOOD: &str = r#"
name: demo
description: a cluster and a wait
setup:
  seed: 7
  availabilityZones: 3
  images:
    "web:v2": {errorRate: "25%", startDelay: 2s, version: v2}
steps:
  - call: ecs.CreateCluster
    input: {clusterName: demo}
    capture: {clusterArn: cluster.clusterArn}
  - name: settle
    advance: 1m30s
  - wait: {serviceStable: {cluster: "${clusterArn}", service: web}}
    timeout: 10m
  - traffic: {loadBalancer: "${clusterArn}", requestsPerSecond: 5, duration: 2m}
  - expect:
      - that: {call: ecs.DescribeClusters, input: {clusters: ["${clusterArn}"]}, path: "clusters[0].status", equals: ACTIVE}
      - traffic: {version: "web:1", share: 100, tolerance: 1, since: settle}
"#;

#[test]
fn a_good_file_reads_into_steps() {
    let file = parse_file("s.yaml", GOOD).unwrap();
    let s = &file.scenarios[0];
    assert_eq!(s.name, "demo");
    assert_eq!(s.setup.seed, 7);
    assert_eq!(s.setup.zone_letters, ["a", "b", "c"]);
    assert_eq!(
        s.setup.images[0].env,
        vec![
            ("ECSIM_ERROR_RATE".to_string(), "0.25".to_string()),
            ("ECSIM_START_DELAY_MS".to_string(), "2000".to_string()),
            ("ECSIM_VERSION".to_string(), "v2".to_string()),
        ]
    );
    assert_eq!(s.steps.len(), 5);
    assert_eq!(s.steps[0].line, 10);
    assert!(
        matches!(&s.steps[0].kind, StepKind::Call { service, operation, .. } if service == "ecs" && operation == "CreateCluster")
    );
    assert!(matches!(s.steps[1].kind, StepKind::Advance { by_ms: 90_000 }));
    assert!(matches!(
        s.steps[2].kind,
        StepKind::Wait {
            timeout_ms: 600_000,
            ..
        }
    ));
}

#[test]
fn an_unknown_step_has_its_line_and_a_hint() {
    let p = problems(
        "steps:\n  - call: ecs.CreateCluster\n  - wiat: {serviceStable: {cluster: a, service: b}}\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].pos.line, 3);
    assert_eq!(p[0].message, "unknown step 'wiat'");
    assert_eq!(p[0].hint.as_deref(), Some("did you mean 'wait'?"));
    assert!(p[0].to_string().starts_with("s.yaml:3:"), "{}", p[0]);
}

#[test]
fn unknown_operations_and_bad_fields_are_named() {
    let p = problems(
        "steps:\n  - call: ecs.CreateServise\n  - call: ecs.CreateService\n    input: {serviceName: web, desiredcount: 3, launchType: FARGATE2}\n",
    );
    let messages: Vec<String> = p
        .iter()
        .map(|p| {
            format!(
                "{}: {} [{}]",
                p.pos.line,
                p.message,
                p.hint.clone().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(p.len(), 3, "{messages:?}");
    assert!(
        messages[0].starts_with("2: ecs has no operation 'CreateServise' [did you mean 'CreateService'?]"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("4: input has no member 'desiredcount'"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("did you mean 'desiredCount'?"),
        "{messages:?}"
    );
    assert!(
        messages[2].contains("input.launchType 'FARGATE2' is not a LaunchType value"),
        "{messages:?}"
    );
}

#[test]
fn undefined_variables_are_found_before_the_run() {
    let p = problems(
        "steps:\n  - call: ecs.CreateCluster\n    input: {clusterName: x}\n    capture: {arn: cluster.clusterArn}\n  - call: ecs.DescribeClusters\n    input: {clusters: [\"${arm}\"]}\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].pos.line, 5);
    assert!(p[0].message.contains("variable 'arm' is not defined"));
    assert!(p[0].hint.as_deref().unwrap().contains("did you mean 'arn'?"));
}

#[test]
fn a_variable_captured_later_is_not_yet_defined() {
    let p = problems(
        "steps:\n  - call: ecs.DescribeClusters\n    input: {clusters: [\"${arn}\"]}\n  - call: ecs.CreateCluster\n    capture: {arn: cluster.clusterArn}\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].pos.line, 2);
}

#[test]
fn waits_need_a_timeout_and_a_known_condition() {
    let p = problems(
        "steps:\n  - wait: {serviceStabel: {cluster: a, service: b}}\n    timeout: 1m\n  - wait: {alarmState: {alarmName: x, state: ALARM}}\n",
    );
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].hint.as_deref().unwrap().contains("serviceStable"));
    assert!(p[1].message.contains("needs a timeout"));
}

#[test]
fn syntax_errors_and_setup_mistakes_have_positions() {
    let p = problems("steps: [\n");
    assert!(p[0].message.starts_with("not valid YAML or JSON"));
    let p = problems("setup:\n  sead: 3\nsteps:\n  - advance: 1s\n");
    assert_eq!(p[0].pos.line, 2);
    assert_eq!(p[0].hint.as_deref(), Some("did you mean 'seed'?"));
    let p = problems("setup:\n  images:\n    web: {errorRate: 2}\nsteps:\n  - advance: 1s\n");
    assert!(p[0].message.contains("errorRate"), "{p:?}");
}

#[test]
fn several_scenarios_share_a_setup_and_need_distinct_names() {
    let text = "setup: {seed: 4}\nscenarios:\n  - name: a\n    steps: [{advance: 1s}]\n  - name: b\n    setup: {seed: 5}\n    steps: [{advance: 1s}]\n";
    let file = parse_file("s.yaml", text).unwrap();
    assert_eq!(file.scenarios[0].setup.seed, 4);
    assert_eq!(file.scenarios[1].setup.seed, 5);
    let p = problems(
        "scenarios:\n  - name: a\n    steps: [{advance: 1s}]\n  - name: a\n    steps: [{advance: 1s}]\n",
    );
    assert!(p[0].message.contains("two scenarios are named 'a'"));
}

#[test]
fn json_files_are_read_with_lines() {
    let text = "{\n  \"name\": \"j\",\n  \"steps\": [\n    {\"advance\": \"5s\"},\n    {\"expect\": {\"that\": {\"value\": 1, \"equal\": 1}}}\n  ]\n}\n";
    let p = problems(text);
    assert_eq!(p[0].pos.line, 5);
    assert_eq!(p[0].hint.as_deref(), Some("did you mean 'equals'?"));
}

#[test]
fn numbers_where_the_api_wants_strings_must_be_quoted() {
    let p = problems(
        "steps:\n  - call: ecs.RegisterTaskDefinition\n    input: {family: web, cpu: 256, containerDefinitions: []}\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message.contains("input.cpu must be a string"),
        "{}",
        p[0].message
    );
    assert_eq!(p[0].hint.as_deref(), Some("quote it, for example \"256\""));
}

#[test]
fn wait_conditions_need_their_fields_and_a_matcher() {
    let p = problems(
        "steps:\n  - wait: {that: {call: ecs.ListClusters, path: clusterArns}}\n    timeout: 1m\n  - wait: {taskCount: {cluster: c, lastStatus: RUNNING}}\n    timeout: 1m\n  - wait: {serviceStable: {cluster: c}}\n    timeout: 1m\n",
    );
    let messages: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(p.len(), 3, "{messages:?}");
    assert!(messages[0].contains("names no matcher"), "{messages:?}");
    assert!(
        messages[1].contains("exactly one of atLeast or count"),
        "{messages:?}"
    );
    assert!(messages[2].contains("needs 'service'"), "{messages:?}");
}

#[test]
fn a_scenario_image_model_replaces_the_shared_one() {
    let text = "setup:\n  images: {\"web:v2\": {errorRate: 0.5}}\nscenarios:\n  - name: a\n    steps: [{advance: 1s}]\n  - name: b\n    setup:\n      images: {\"web:v2\": {errorRate: 0}}\n    steps: [{advance: 1s}]\n";
    let file = parse_file("s.yaml", text).unwrap();
    assert_eq!(
        file.scenarios[0].setup.images[0].env,
        vec![("ECSIM_ERROR_RATE".to_string(), "0.5".to_string())]
    );
    assert_eq!(file.scenarios[1].setup.images.len(), 1);
    assert_eq!(
        file.scenarios[1].setup.images[0].env,
        vec![("ECSIM_ERROR_RATE".to_string(), "0".to_string())]
    );
}

#[test]
fn traffic_lasts_at_most_a_day() {
    let p = problems("steps:\n  - traffic: {loadBalancer: x, duration: 25h}\n");
    assert!(p[0].message.contains("at most 24h"), "{p:?}");
}

#[test]
fn variables_in_matchers_are_checked_too() {
    let p = problems("steps:\n  - expect:\n      - running: {service: web, now: \"${desired}\"}\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message.contains("variable 'desired' is not defined"),
        "{p:?}"
    );
}

//! CodeDeploy deployments on the engine: hooks queue invocations and wait for
//! PutLifecycleEventHookExecutionStatus, and a property over random canary and linear configs —
//! production weights always sum to 100 and, in a healthy deployment, some target group that
//! receives production traffic always has a healthy target.

use ecsim_protocol::route::Caller;
use serde_json::{Value, json};

use crate::elbv2::state::{ActionKind, TargetState};
use crate::engine::{Engine, EngineConfig};
use crate::functions::{FunctionTarget, InvocationOutcome};

const T0: u64 = 1_767_225_600_000;
const SUBNETS: [&str; 3] = [
    "subnet-0ec5100000000000a",
    "subnet-0ec5100000000000b",
    "subnet-0ec5100000000000c",
];

struct Driver {
    engine: Engine,
    now: u64,
}

impl Driver {
    fn new() -> Self {
        Self {
            engine: Engine::new(EngineConfig::default(), T0),
            now: T0,
        }
    }

    fn call(&mut self, service: &str, op: &str, input: Value) -> Result<Value, ecsim_protocol::AwsError> {
        let schema = match service {
            "ecs" => &ecsim_api::ecs::SCHEMA,
            "elbv2" => &ecsim_api::elbv2::SCHEMA,
            _ => &ecsim_api::codedeploy::SCHEMA,
        };
        let operation = schema.operation(op).expect("a modelled operation");
        self.engine
            .handle(self.now, schema, operation, input, &Caller::default())
    }

    fn ok(&mut self, service: &str, op: &str, input: Value) -> Value {
        self.call(service, op, input)
            .unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    fn advance_s(&mut self, seconds: u64) {
        self.now += seconds * 1_000;
        self.engine.advance_to(self.now);
    }

    fn world(&self) -> &crate::world::World {
        self.engine.world("000000000000", "us-east-1").expect("the world")
    }

    /// (target group ARN, weight) of the production listener's forward action.
    fn weights(&self, listener: &str) -> Vec<(String, i32)> {
        match &self.world().elbv2.listeners[listener].default_action.kind {
            ActionKind::Forward { groups, .. } => groups.clone(),
            other => panic!("not a forward action: {other:?}"),
        }
    }

    fn healthy_targets(&self, tg: &str) -> usize {
        self.world().elbv2.target_groups[tg]
            .targets
            .values()
            .filter(|t| t.state == TargetState::Healthy)
            .count()
    }

    fn status(&mut self, id: &str) -> String {
        self.ok("codedeploy", "GetDeployment", json!({"deploymentId": id}))["deploymentInfo"]["status"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

struct Fixture {
    prod_listener: String,
}

/// An ALB whose production listener forwards 100% to `blue`, a CODE_DEPLOY service of
/// `desired` tasks that is stable, an ECS application and group with `config`.
fn fixture(d: &mut Driver, desired: i32, config: &str) -> Fixture {
    let lb = d.ok(
        "elbv2",
        "CreateLoadBalancer",
        json!({"Name": "web", "Subnets": [SUBNETS[0], SUBNETS[1]]}),
    )["LoadBalancers"][0]["LoadBalancerArn"]
        .as_str()
        .unwrap()
        .to_string();
    let mut groups = Vec::new();
    for name in ["blue", "green"] {
        let arn = d.ok(
            "elbv2",
            "CreateTargetGroup",
            json!({"Name": name, "Protocol": "HTTP", "Port": 8080, "VpcId": crate::network::DEFAULT_VPC_ID,
                   "TargetType": "ip", "HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2,
                   "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2}),
        )["TargetGroups"][0]["TargetGroupArn"]
            .as_str()
            .unwrap()
            .to_string();
        d.ok(
            "elbv2",
            "ModifyTargetGroupAttributes",
            json!({"TargetGroupArn": arn, "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]}),
        );
        groups.push(arn);
    }
    let prod_listener = d.ok(
        "elbv2",
        "CreateListener",
        json!({"LoadBalancerArn": lb, "Protocol": "HTTP", "Port": 80,
               "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                   {"TargetGroupArn": groups[0], "Weight": 100}]}}]}),
    )["Listeners"][0]["ListenerArn"]
        .as_str()
        .unwrap()
        .to_string();
    d.ok("ecs", "CreateCluster", json!({"clusterName": "cd"}));
    for version in ["v1", "v2"] {
        register_web(d, ("ECSIM_VERSION", version));
    }
    d.ok(
        "ecs",
        "CreateService",
        json!({"cluster": "cd", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": desired,
               "launchType": "FARGATE", "deploymentController": {"type": "CODE_DEPLOY"},
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": SUBNETS}},
               "loadBalancers": [{"targetGroupArn": groups[0], "containerName": "web", "containerPort": 8080}]}),
    );
    for _ in 0..120 {
        if d.healthy_targets(&groups[0]) == usize::try_from(desired).unwrap() {
            break;
        }
        d.advance_s(1);
    }
    assert_eq!(d.healthy_targets(&groups[0]), usize::try_from(desired).unwrap());
    d.ok(
        "codedeploy",
        "CreateApplication",
        json!({"applicationName": "app", "computePlatform": "ECS"}),
    );
    d.ok(
        "codedeploy",
        "CreateDeploymentGroup",
        json!({"applicationName": "app", "deploymentGroupName": "dg", "deploymentConfigName": config,
               "serviceRoleArn": "arn:aws:iam::000000000000:role/cd",
               "ecsServices": [{"clusterName": "cd", "serviceName": "web"}],
               "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
               "blueGreenDeploymentConfiguration": {
                   "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
                   "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 1}},
               "loadBalancerInfo": {"targetGroupPairInfoList": [{
                   "targetGroups": [{"name": "blue"}, {"name": "green"}],
                   "prodTrafficRoute": {"listenerArns": [prod_listener]}}]}}),
    );
    Fixture { prod_listener }
}

/// The next revision of the `web` family, with one environment entry for the behaviour model.
fn register_web(d: &mut Driver, (name, value): (&str, &str)) {
    d.ok(
        "ecs",
        "RegisterTaskDefinition",
        json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
               "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "web", "image": "web",
               "essential": true, "portMappings": [{"containerPort": 8080}],
               "environment": [{"name": name, "value": value}]}]}),
    );
}

fn create_deployment(d: &mut Driver, hooks: Value) -> String {
    deploy_revision(d, "web:2", hooks)
}

/// CreateDeployment of `task_definition` with these AppSpec hooks; the deployment id.
fn deploy_revision(d: &mut Driver, task_definition: &str, hooks: Value) -> String {
    let appspec = json!({
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": task_definition, "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}}}}],
        "Hooks": hooks,
    });
    d.ok(
        "codedeploy",
        "CreateDeployment",
        json!({"applicationName": "app", "deploymentGroupName": "dg",
               "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec.to_string()}}}),
    )["deploymentId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn deployment_ids_look_like_codedeploy_ids() {
    let mut d = Driver::new();
    fixture(&mut d, 1, "CodeDeployDefault.ECSAllAtOnce");
    let id = create_deployment(&mut d, json!([]));
    assert_eq!(id.len(), 11, "{id}");
    assert!(id.starts_with("d-"));
    assert!(
        id[2..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
}

#[test]
fn a_hook_is_invoked_and_its_reported_status_moves_the_deployment() {
    let mut d = Driver::new();
    d.engine.register_function(
        "check",
        FunctionTarget::Http {
            url: "http://127.0.0.1:9/hook".into(),
        },
    );
    fixture(&mut d, 2, "CodeDeployDefault.ECSAllAtOnce");
    let id = create_deployment(
        &mut d,
        json!([{"BeforeInstall": "check"}, {"AfterAllowTraffic": "check"}]),
    );
    let invoked = d.engine.take_invocations();
    assert_eq!(invoked.len(), 1, "BeforeInstall's hook goes out at once");
    assert_eq!(invoked[0].payload["DeploymentId"], json!(id));
    let execution_id = invoked[0].payload["LifecycleEventHookExecutionId"]
        .as_str()
        .unwrap()
        .to_string();
    d.advance_s(600);
    assert_eq!(
        d.status(&id),
        "InProgress",
        "nothing happens until the hook reports"
    );
    assert!(d.world().ecs.service("cd", "web").unwrap().task_sets.len() == 1);
    // An answer from the function does not settle the hook: only the status report does.
    d.engine
        .complete_invocation(d.now, invoked[0].id, InvocationOutcome::Returned(Value::Null));
    assert_eq!(d.status(&id), "InProgress");
    let bad = d
        .call(
            "codedeploy",
            "PutLifecycleEventHookExecutionStatus",
            json!({"deploymentId": id, "lifecycleEventHookExecutionId": execution_id, "status": "Skipped"}),
        )
        .unwrap_err();
    assert_eq!(bad.code, "InvalidLifecycleEventHookExecutionStatusException");
    d.ok(
        "codedeploy",
        "PutLifecycleEventHookExecutionStatus",
        json!({"deploymentId": id, "lifecycleEventHookExecutionId": execution_id, "status": "Succeeded"}),
    );
    assert_eq!(
        d.world().ecs.service("cd", "web").unwrap().task_sets.len(),
        2,
        "Install began"
    );
    let again = d
        .call(
            "codedeploy",
            "PutLifecycleEventHookExecutionStatus",
            json!({"deploymentId": id, "lifecycleEventHookExecutionId": execution_id, "status": "Succeeded"}),
        )
        .unwrap_err();
    assert_eq!(again.code, "LifecycleEventAlreadyCompletedException");
    for _ in 0..60 {
        if !d.engine.take_invocations().is_empty() {
            break;
        }
        d.advance_s(1);
    }
    // After the shift the AfterAllowTraffic hook goes out; it reports Failed.
    let events = &d.world().codedeploy.deployments[&id].events;
    let after = events.iter().find(|e| e.name == "AfterAllowTraffic").unwrap();
    let pending = after.hook.clone().expect("the hook was invoked");
    assert_eq!(pending.function, "check");
    d.ok(
        "codedeploy",
        "PutLifecycleEventHookExecutionStatus",
        json!({"deploymentId": id, "lifecycleEventHookExecutionId": pending.execution_id, "status": "Failed"}),
    );
    assert_eq!(d.status(&id), "Failed");
    let info = d.ok("codedeploy", "GetDeployment", json!({"deploymentId": id}));
    assert_eq!(
        info["deploymentInfo"]["errorInformation"]["code"],
        "HOOK_EXECUTION_FAILURE"
    );
}

/// An Install that waits minutes for slow replacement tasks, in a group that watches an alarm:
/// each controller run asks for a recheck in a second and an alarm poll in ten. The timer queue
/// must stay small (it used to double every few seconds until the process ran out of memory).
#[test]
fn a_long_install_wait_with_alarms_keeps_the_timer_queue_bounded() {
    let mut d = Driver::new();
    fixture(&mut d, 2, "CodeDeployDefault.ECSAllAtOnce");
    d.ok(
        "codedeploy",
        "UpdateDeploymentGroup",
        json!({"applicationName": "app", "currentDeploymentGroupName": "dg",
               "alarmConfiguration": {"enabled": true, "ignorePollAlarmFailure": true,
                                      "alarms": [{"name": "not-there"}]}}),
    );
    register_web(&mut d, ("ECSIM_START_DELAY_MS", "600000"));
    let id = deploy_revision(&mut d, "web:3", json!([]));
    let mut most_timers = 0;
    for _ in 0..(15 * 60) {
        d.advance_s(1);
        most_timers = most_timers.max(d.engine.pending_timers());
        if d.status(&id) != "InProgress" {
            break;
        }
    }
    assert_eq!(
        d.status(&id),
        "Succeeded",
        "the slow replacement installs and takes traffic"
    );
    assert!(most_timers < 100, "{most_timers} timers queued at once");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 12, ..Default::default() })]

    #[test]
    fn production_weights_sum_to_100_and_production_always_has_a_healthy_target(
        linear in proptest::bool::ANY,
        percentage in 1u32..=99,
        interval_minutes in 1u32..=3,
        desired in 1i32..=5,
    ) {
        let mut d = Driver::new();
        let kind = if linear { "TimeBasedLinear" } else { "TimeBasedCanary" };
        let block = if linear {
            json!({"timeBasedLinear": {"linearPercentage": percentage, "linearInterval": interval_minutes}})
        } else {
            json!({"timeBasedCanary": {"canaryPercentage": percentage, "canaryInterval": interval_minutes}})
        };
        let mut routing = json!({"type": kind});
        routing.as_object_mut().unwrap().extend(block.as_object().unwrap().clone());
        d.ok("codedeploy", "CreateDeploymentConfig", json!({
            "deploymentConfigName": "custom", "computePlatform": "ECS", "trafficRoutingConfig": routing}));
        let f = fixture(&mut d, desired, "custom");
        let id = create_deployment(&mut d, json!([]));
        let mut seen_weights = std::collections::BTreeSet::new();
        for _ in 0..(100 * 60 * 3 + 600) {
            let weights = d.weights(&f.prod_listener);
            let total: i32 = weights.iter().map(|(_, w)| w).sum();
            proptest::prop_assert_eq!(total, 100, "{:?}", weights);
            let serving = weights
                .iter()
                .filter(|(_, w)| *w > 0)
                .any(|(tg, _)| d.healthy_targets(tg) > 0);
            proptest::prop_assert!(serving, "no healthy production target at {}: {:?}", d.now - T0, weights);
            seen_weights.insert(weights.iter().map(|(_, w)| *w).collect::<Vec<_>>());
            if d.status(&id) != "InProgress" {
                break;
            }
            d.advance_s(1);
        }
        let info = d.ok("codedeploy", "GetDeployment", json!({"deploymentId": id}));
        proptest::prop_assert_eq!(d.status(&id), "Succeeded", "{}", info);
        let expected_steps = if linear { 100u32.div_ceil(percentage) } else { 2 };
        // The initial 100/0 plus one entry per shift.
        proptest::prop_assert_eq!(seen_weights.len(), usize::try_from(expected_steps).unwrap() + 1);
    }
}

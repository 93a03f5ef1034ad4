//! Blue/green runs on the engine's virtual time: Lambda hooks answered through
//! `Engine::complete_invocation` (the path the edge takes into `on_hook_outcome`), and a property
//! test of the production rule's weights over random LINEAR and CANARY configurations.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::elbv2::state::TargetState;
use crate::engine::{Engine, EngineConfig};
use crate::functions::{FunctionTarget, InvocationOutcome};
use crate::network::{DEFAULT_VPC_ID, default_subnet_id};
use ecsim_protocol::route::Caller;

const T0: u64 = 1_767_225_600_000;
const HOOK: &str = "arn:aws:lambda:us-east-1:000000000000:function:check";

struct Sim {
    engine: Engine,
    now: u64,
}

/// What a blue/green test service is made of.
struct Setup {
    blue_tg: String,
    green_tg: String,
    production_rule: String,
}

impl Sim {
    fn new() -> Self {
        Self {
            engine: Engine::new(
                EngineConfig {
                    seed: 3,
                    ..EngineConfig::default()
                },
                T0,
            ),
            now: T0,
        }
    }

    fn call(&mut self, service: &str, op: &str, input: Value) -> Result<Value, ecsim_protocol::AwsError> {
        let schema = match service {
            "ecs" => &ecsim_api::ecs::SCHEMA,
            _ => &ecsim_api::elbv2::SCHEMA,
        };
        let operation = schema.operation(op).expect("a modelled operation");
        self.engine
            .handle(self.now, schema, operation, input, &Caller::default())
    }

    fn ok(&mut self, service: &str, op: &str, input: Value) -> Value {
        self.call(service, op, input)
            .unwrap_or_else(|e| panic!("{op}: {} {}", e.code, e.message))
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.engine.advance_to(self.now);
    }

    fn world(&self) -> &crate::world::World {
        self.engine.world("000000000000", "us-east-1").expect("the world")
    }

    fn group(&mut self, name: &str) -> String {
        let tg = self.ok(
            "elbv2",
            "CreateTargetGroup",
            json!({"Name": name, "Protocol": "HTTP", "Port": 8080, "VpcId": DEFAULT_VPC_ID,
                   "TargetType": "ip", "HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2,
                   "HealthyThresholdCount": 2}),
        )["TargetGroups"][0]["TargetGroupArn"]
            .as_str()
            .unwrap()
            .to_string();
        self.ok(
            "elbv2",
            "ModifyTargetGroupAttributes",
            json!({"TargetGroupArn": tg, "Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "0"}]}),
        );
        tg
    }

    fn register(&mut self, version: &str) {
        self.ok(
            "ecs",
            "RegisterTaskDefinition",
            json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                   "cpu": "256", "memory": "512",
                   "containerDefinitions": [{"name": "web", "image": "app", "essential": true,
                       "portMappings": [{"containerPort": 8080}],
                       "environment": [{"name": "ECSIM_VERSION", "value": version}]}]}),
        );
    }

    /// A load balancer, blue and green groups, a listener forwarding to blue, and the `web`
    /// service (2 tasks, v1) with `deployment_configuration`, stable.
    fn service(&mut self, deployment_configuration: Value) -> Setup {
        let lb = self.ok(
            "elbv2",
            "CreateLoadBalancer",
            json!({"Name": "web", "Subnets": [default_subnet_id("a"), default_subnet_id("b")]}),
        )["LoadBalancers"][0]["LoadBalancerArn"]
            .as_str()
            .unwrap()
            .to_string();
        let (blue_tg, green_tg) = (self.group("blue"), self.group("green"));
        let listener = self.ok(
            "elbv2",
            "CreateListener",
            json!({"LoadBalancerArn": lb, "Protocol": "HTTP", "Port": 80,
                   "DefaultActions": [{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue_tg, "Weight": 1}]}}]}),
        )["Listeners"][0]["ListenerArn"]
            .as_str()
            .unwrap()
            .to_string();
        let production_rule = self.ok("elbv2", "DescribeRules", json!({"ListenerArn": listener}))["Rules"][0]
            ["RuleArn"]
            .as_str()
            .unwrap()
            .to_string();
        self.ok("ecs", "CreateCluster", json!({"clusterName": "bg"}));
        self.register("v1");
        self.ok(
            "ecs",
            "CreateService",
            json!({"cluster": "bg", "serviceName": "web", "taskDefinition": "web", "desiredCount": 2,
                   "launchType": "FARGATE",
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": [default_subnet_id("a"), default_subnet_id("b")]}},
                   "loadBalancers": [{"targetGroupArn": blue_tg, "containerName": "web", "containerPort": 8080,
                       "advancedConfiguration": {"alternateTargetGroupArn": green_tg,
                           "productionListenerRule": production_rule,
                           "roleArn": "arn:aws:iam::000000000000:role/ecs-elb"}}],
                   "deploymentConfiguration": deployment_configuration}),
        );
        for _ in 0..600 {
            self.advance(1_000);
            if self.deployment()["status"] == "SUCCESSFUL" {
                return Setup {
                    blue_tg,
                    green_tg,
                    production_rule,
                };
            }
        }
        panic!("the first deployment did not finish: {}", self.deployment());
    }

    /// Starts the v2 deployment.
    fn deploy_v2(&mut self) {
        self.register("v2");
        self.ok(
            "ecs",
            "UpdateService",
            json!({"cluster": "bg", "service": "web", "taskDefinition": "web:2"}),
        );
    }

    /// The newest service deployment, described.
    fn deployment(&mut self) -> Value {
        let listed = self.ok(
            "ecs",
            "ListServiceDeployments",
            json!({"cluster": "bg", "service": "web"}),
        );
        let arn = listed["serviceDeployments"][0]["serviceDeploymentArn"].clone();
        self.ok(
            "ecs",
            "DescribeServiceDeployments",
            json!({"serviceDeploymentArns": [arn]}),
        )["serviceDeployments"][0]
            .clone()
    }

    /// Advances second by second until the newest deployment's status is not `status`.
    fn run_while(&mut self, status: &str, limit_s: u32) -> Value {
        for _ in 0..limit_s {
            let d = self.deployment();
            if d["status"] != status {
                return d;
            }
            self.advance(1_000);
        }
        panic!("still {status} after {limit_s} s: {}", self.deployment());
    }

    fn weights(&self, rule: &str) -> Vec<(String, i32)> {
        crate::elbv2::weights::forward_weights(self.world(), rule).expect("a forward rule")
    }

    fn healthy_targets(&self, tg: &str) -> usize {
        crate::elbv2::target_group(self.world(), tg).map_or(0, |g| {
            g.targets
                .values()
                .filter(|t| t.state == TargetState::Healthy)
                .count()
        })
    }
}

fn lambda_hooked(stage: &str) -> Value {
    json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
           "lifecycleHooks": [{"hookTargetArn": HOOK, "roleArn": "arn:aws:iam::000000000000:role/hook",
               "lifecycleStages": [stage], "hookDetails": {"suite": "smoke"}}]})
}

#[test]
fn a_lambda_hook_in_progress_is_invoked_again_after_its_callback_delay_then_succeeds() {
    let mut sim = Sim::new();
    sim.engine.register_function(
        HOOK,
        FunctionTarget::Http {
            url: "http://127.0.0.1:9/hook".into(),
        },
    );
    let setup = sim.service(lambda_hooked("PRE_SCALE_UP"));
    assert!(
        sim.engine.take_invocations().is_empty(),
        "the first deployment runs no hooks"
    );
    sim.deploy_v2();
    sim.advance(1_000);
    let first = sim.engine.take_invocations();
    assert_eq!(first.len(), 1, "{first:?}");
    let payload = &first[0].payload;
    assert_eq!(first[0].function_name, "check");
    assert_eq!(payload["lifecycleStage"], "PRE_SCALE_UP");
    assert_eq!(payload["hookDetails"], json!({"suite": "smoke"}));
    let d = sim.deployment();
    let target = d["targetServiceRevision"]["arn"].as_str().unwrap().to_string();
    assert_eq!(payload["targetServiceRevisionArn"], target);
    assert_eq!(payload["productionTrafficWeights"][&target], 0);
    assert_eq!(d["lifecycleStage"], "PRE_SCALE_UP");
    assert_eq!(d["lifecycleHookDetails"][0]["status"], "IN_PROGRESS");
    assert_eq!(
        d["targetServiceRevision"]["runningTaskCount"], 0,
        "no green task before the hook"
    );

    sim.engine.complete_invocation(
        sim.now,
        first[0].id,
        InvocationOutcome::Returned(
            json!({"hookStatus": "IN_PROGRESS", "callBackDelay": 10, "hookDetails": {"round": 2}}),
        ),
    );
    sim.advance(9_000);
    assert!(
        sim.engine.take_invocations().is_empty(),
        "not before the callback delay"
    );
    sim.advance(1_000);
    let second = sim.engine.take_invocations();
    assert_eq!(second.len(), 1, "invoked again 10 s later");
    assert_eq!(second[0].payload["hookDetails"], json!({"round": 2}));
    assert_eq!(sim.deployment()["lifecycleStage"], "PRE_SCALE_UP");

    sim.engine.complete_invocation(
        sim.now,
        second[0].id,
        InvocationOutcome::Returned(json!({"hookStatus": "SUCCEEDED"})),
    );
    let done = sim.run_while("IN_PROGRESS", 900);
    assert_eq!(done["status"], "SUCCESSFUL", "{done}");
    assert_eq!(done["lifecycleHookDetails"][0]["status"], "SUCCEEDED");
    assert_eq!(
        sim.weights(&setup.production_rule),
        [(setup.blue_tg.clone(), 0), (setup.green_tg.clone(), 100)]
    );
}

#[test]
fn a_lambda_hook_that_fails_or_answers_badly_rolls_the_deployment_back() {
    let outcomes = [
        InvocationOutcome::Returned(json!({"hookStatus": "FAILED"})),
        InvocationOutcome::Returned(json!({"status": "ok"})),
        InvocationOutcome::Returned(Value::Null),
        InvocationOutcome::Failed("HTTP 500 from the stand-in".into()),
    ];
    for outcome in outcomes {
        let mut sim = Sim::new();
        sim.engine.register_function(
            HOOK,
            FunctionTarget::Http {
                url: "http://127.0.0.1:9/hook".into(),
            },
        );
        let setup = sim.service(lambda_hooked("POST_TEST_TRAFFIC_SHIFT"));
        sim.deploy_v2();
        let mut invocation = None;
        for _ in 0..300 {
            sim.advance(1_000);
            if let Some(i) = sim.engine.take_invocations().pop() {
                invocation = Some(i);
                break;
            }
        }
        let invocation = invocation.expect("the hook was invoked after the green tasks scaled up");
        assert_eq!(invocation.payload["lifecycleStage"], "POST_TEST_TRAFFIC_SHIFT");
        assert_eq!(sim.deployment()["targetServiceRevision"]["runningTaskCount"], 2);
        sim.engine
            .complete_invocation(sim.now, invocation.id, outcome.clone());
        let d = sim.run_while("IN_PROGRESS", 5);
        assert_eq!(
            d["lifecycleHookDetails"][0]["status"], "FAILED",
            "{outcome:?}: {d}"
        );
        let d = sim.run_while("ROLLBACK_IN_PROGRESS", 600);
        assert_eq!(d["status"], "ROLLBACK_SUCCESSFUL", "{outcome:?}: {d}");
        assert!(
            d["statusReason"]
                .as_str()
                .unwrap()
                .contains("failed at the POST_TEST_TRAFFIC_SHIFT"),
            "{d}"
        );
        assert_eq!(
            sim.weights(&setup.production_rule),
            [(setup.blue_tg.clone(), 100), (setup.green_tg.clone(), 0)]
        );
        assert_eq!(sim.healthy_targets(&setup.blue_tg), 2);
    }
}

#[test]
fn an_outcome_for_a_hook_no_longer_waiting_changes_nothing() {
    let mut sim = Sim::new();
    sim.engine.register_function(
        HOOK,
        FunctionTarget::Http {
            url: "http://127.0.0.1:9/hook".into(),
        },
    );
    sim.service(lambda_hooked("PRE_SCALE_UP"));
    sim.deploy_v2();
    sim.advance(1_000);
    let invocation = sim.engine.take_invocations().pop().expect("invoked");
    sim.engine.complete_invocation(
        sim.now,
        invocation.id,
        InvocationOutcome::Returned(json!({"hookStatus": "SUCCEEDED"})),
    );
    // A second answer for the same invocation is ignored (the engine forgets completed ids).
    sim.engine.complete_invocation(
        sim.now,
        invocation.id,
        InvocationOutcome::Returned(json!({"hookStatus": "FAILED"})),
    );
    let done = sim.run_while("IN_PROGRESS", 900);
    assert_eq!(done["status"], "SUCCESSFUL", "{done}");
}

/// Tenths of a percent that the API accepts for LINEAR steps (3.0–100.0) and canaries
/// (0.1–100.0).
fn strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        (30u32..=1000, 0i32..=3).prop_map(|(tenths, bake)| json!({
            "strategy": "LINEAR", "bakeTimeInMinutes": 1,
            "linearConfiguration": {"stepPercent": f64::from(tenths) / 10.0, "stepBakeTimeInMinutes": bake}})),
        (1u32..=1000, 0i32..=3).prop_map(|(tenths, bake)| json!({
            "strategy": "CANARY", "bakeTimeInMinutes": 1,
            "canaryConfiguration": {"canaryPercent": f64::from(tenths) / 10.0, "canaryBakeTimeInMinutes": bake}})),
    ]
}

fn tenths(pct: &Value) -> u32 {
    // Generated from whole tenths, so rounding recovers them exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let t = (pct.as_f64().unwrap() * 10.0).round() as u32;
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Over any LINEAR or CANARY run of a healthy service, the production rule's weights sum to
    /// 100 at every moment, and some target group with weight > 0 has a healthy target.
    #[test]
    fn production_weights_sum_to_100_and_always_reach_a_healthy_target(config in strategy()) {
        let mut sim = Sim::new();
        let setup = sim.service(config.clone());
        sim.deploy_v2();
        let mut seen_weights = std::collections::BTreeSet::new();
        let mut finished = None;
        for _ in 0..20_000 {
            sim.advance(5_000);
            let weights = sim.weights(&setup.production_rule);
            let sum: i32 = weights.iter().map(|(_, w)| *w).sum();
            prop_assert_eq!(sum, 100, "{:?} under {}", weights, config);
            let served = weights
                .iter()
                .filter(|(_, w)| *w > 0)
                .any(|(tg, _)| sim.healthy_targets(tg) > 0);
            prop_assert!(served, "no healthy target behind {:?} under {}", weights, config);
            seen_weights.insert(weights.iter().find(|(tg, _)| *tg == setup.green_tg).map(|(_, w)| *w));
            let d = sim.deployment();
            if d["status"] != "IN_PROGRESS" {
                finished = Some(d);
                break;
            }
        }
        let d = finished.expect("the deployment finished");
        prop_assert_eq!(&d["status"], "SUCCESSFUL", "{}", d);
        prop_assert!(seen_weights.contains(&Some(100)));
        // Steps held for a minute or more are each seen at a 5 s sampling.
        let (steps, hold) = match config["strategy"].as_str() {
            Some("LINEAR") => {
                let c = &config["linearConfiguration"];
                (crate::deploy::Plan::linear_steps(tenths(&c["stepPercent"]), 1), c["stepBakeTimeInMinutes"].as_i64())
            }
            _ => {
                let c = &config["canaryConfiguration"];
                (crate::deploy::Plan::canary_steps(tenths(&c["canaryPercent"]), 1), c["canaryBakeTimeInMinutes"].as_i64())
            }
        };
        if hold.unwrap_or(0) > 0 {
            for step in steps {
                let w = i32::try_from(step.target_weight_pct).unwrap();
                prop_assert!(seen_weights.contains(&Some(w)), "step {} not seen in {:?} under {}", w, seen_weights, config);
            }
        }
    }
}

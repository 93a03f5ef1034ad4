//! A CodeDeploy canary on the virtual clock: 40 tasks behind an ALB across five AZs, a custom
//! canary of 25% for 10 minutes, from CreateDeployment until the deployment has succeeded and
//! the original task set is gone (install, health checks, the shift, the interval, the rest,
//! termination) — the wall time of one whole deployment.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ecsim_control::{Engine, EngineConfig};
use ecsim_protocol::route::Caller;
use serde_json::{Value, json};

const T0: u64 = 1_767_225_600_000;
const TASKS: i32 = 40;

struct Driver {
    engine: Engine,
    now: u64,
}

impl Driver {
    fn ok(&mut self, service: &str, op: &str, input: Value) -> Value {
        let schema = match service {
            "ecs" => &ecsim_api::ecs::SCHEMA,
            "elbv2" => &ecsim_api::elbv2::SCHEMA,
            _ => &ecsim_api::codedeploy::SCHEMA,
        };
        let operation = schema.operation(op).expect("a modelled operation");
        self.engine
            .handle(self.now, schema, operation, input, &Caller::default())
            .unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    fn advance_s(&mut self, seconds: u64) {
        self.now += seconds * 1_000;
        self.engine.advance_to(self.now);
    }
}

fn subnets() -> Vec<String> {
    "abcde"
        .chars()
        .map(|c| format!("subnet-0ec5100000000000{c}"))
        .collect()
}

/// A stable CODE_DEPLOY service of 40 tasks and its application and group.
fn fixture() -> Driver {
    let mut d = Driver {
        engine: Engine::new(EngineConfig::default(), T0),
        now: T0,
    };
    let lb = d.ok(
        "elbv2",
        "CreateLoadBalancer",
        json!({"Name": "web", "Subnets": subnets()}),
    )["LoadBalancers"][0]["LoadBalancerArn"]
        .as_str()
        .unwrap()
        .to_string();
    let mut groups = Vec::new();
    for name in ["blue", "green"] {
        groups.push(
            d.ok(
                "elbv2",
                "CreateTargetGroup",
                json!({"Name": name, "Protocol": "HTTP", "Port": 8080, "VpcId": "vpc-0ec5100000000000d",
                       "TargetType": "ip", "HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2,
                       "HealthyThresholdCount": 2}),
            )["TargetGroups"][0]["TargetGroupArn"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let listener = d.ok(
        "elbv2",
        "CreateListener",
        json!({"LoadBalancerArn": lb, "Protocol": "HTTP", "Port": 80,
               "DefaultActions": [{"Type": "forward", "TargetGroupArn": groups[0]}]}),
    )["Listeners"][0]["ListenerArn"]
        .as_str()
        .unwrap()
        .to_string();
    d.ok("ecs", "CreateCluster", json!({"clusterName": "cd"}));
    for version in ["v1", "v2"] {
        d.ok(
            "ecs",
            "RegisterTaskDefinition",
            json!({"family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                   "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "web", "image": "web",
                   "portMappings": [{"containerPort": 8080}],
                   "environment": [{"name": "ECSIM_VERSION", "value": version}]}]}),
        );
    }
    d.ok(
        "ecs",
        "CreateService",
        json!({"cluster": "cd", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": TASKS,
               "launchType": "FARGATE", "deploymentController": {"type": "CODE_DEPLOY"},
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": subnets()}},
               "loadBalancers": [{"targetGroupArn": groups[0], "containerName": "web", "containerPort": 8080}]}),
    );
    d.advance_s(120);
    d.ok(
        "codedeploy",
        "CreateDeploymentConfig",
        json!({"deploymentConfigName": "Canary25Percent10Minutes", "computePlatform": "ECS",
               "trafficRoutingConfig": {"type": "TimeBasedCanary",
                   "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 10}}}),
    );
    d.ok(
        "codedeploy",
        "CreateApplication",
        json!({"applicationName": "app", "computePlatform": "ECS"}),
    );
    d.ok(
        "codedeploy",
        "CreateDeploymentGroup",
        json!({"applicationName": "app", "deploymentGroupName": "dg",
               "deploymentConfigName": "Canary25Percent10Minutes",
               "serviceRoleArn": "arn:aws:iam::000000000000:role/cd",
               "ecsServices": [{"clusterName": "cd", "serviceName": "web"}],
               "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
               "blueGreenDeploymentConfiguration": {
                   "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
                   "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 0}},
               "loadBalancerInfo": {"targetGroupPairInfoList": [{
                   "targetGroups": [{"name": "blue"}, {"name": "green"}],
                   "prodTrafficRoute": {"listenerArns": [listener]}}]}}),
    );
    d
}

/// CreateDeployment, then the clock runs (one jump per simulated minute) until it succeeded.
fn deploy(mut d: Driver) -> Driver {
    let appspec = json!({"version": 0.0, "Resources": [{"TargetService": {"Type": "AWS::ECS::Service",
        "Properties": {"TaskDefinition": "web:2", "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}}}}]});
    let id = d.ok(
        "codedeploy",
        "CreateDeployment",
        json!({"applicationName": "app", "deploymentGroupName": "dg",
               "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec.to_string()}}}),
    )["deploymentId"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..30 {
        d.advance_s(60);
        let info = d.ok("codedeploy", "GetDeployment", json!({"deploymentId": id}));
        if info["deploymentInfo"]["status"] == "Succeeded" {
            return d;
        }
    }
    panic!("the canary did not finish in 30 simulated minutes");
}

fn canary(c: &mut Criterion) {
    let mut group = c.benchmark_group("codedeploy");
    group.sample_size(20);
    group.bench_function("canary_25pct_10min_40_tasks", |b| {
        b.iter_batched(fixture, deploy, BatchSize::PerIteration);
    });
    group.finish();
}

criterion_group!(benches, canary);
criterion_main!(benches);

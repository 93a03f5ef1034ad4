//! One scenario's own emulator, in-process: API calls straight into the engine (validated
//! against the operation's input shape as the gateway does, with the same effects carried out
//! afterwards), and time moved on the virtual clock event by event or, on the Docker runtime,
//! waited for on the sped-up live clock.
//!
//! It must not interpret steps; `exec` does. The engine lock is never held across an await.

use std::sync::Arc;
use std::time::Duration;

use ecsim_control::Engine;
use ecsim_control::runtime::{ImageEnv, SimTimings};
use ecsim_control::topology::TopologyConfig;
use ecsim_protocol::{AwsError, Caller};
use ecsim_scenario::model::{FunctionSpec, RuntimeName, Scenario};
use serde_json::Value;

use crate::shared::Shared;
use crate::{ClockMode, DockerOptions, Emulator, FunctionTarget, Runtime};

/// Real time between two looks at the live clock while waiting or advancing.
const LIVE_POLL_MS: u64 = 50;

pub(super) struct Session {
    emulator: Option<Emulator>,
    shared: Arc<Shared>,
    pub runtime: RuntimeName,
    pub account_id: String,
    pub region: String,
    /// Control-plane time when the scenario started.
    start_ms: u64,
    /// Runtime commands queued by synchronous calls (an API call first catches the engine up
    /// to the clock, which can start or stop tasks), sent in order at the next await.
    pending: parking_lot::Mutex<Vec<ecsim_control::task_runtime::RuntimeCommand>>,
}

impl Session {
    pub async fn start(
        scenario: &Scenario,
        runtime: RuntimeName,
        seed: u64,
        instance: &str,
    ) -> Result<Self, String> {
        let setup = &scenario.setup;
        let mut topology = TopologyConfig {
            availability_zone_letters: setup.zone_letters.clone(),
            ..TopologyConfig::default()
        };
        if let Some(cidr) = &setup.vpc_cidr {
            topology.default_vpc_cidr.clone_from(cidr);
        }
        if let Some(prefix) = setup.subnet_prefix_length {
            topology.default_subnet_prefix_length = prefix;
        }
        let sim = SimTimings {
            image_env: setup
                .images
                .iter()
                .map(|i| ImageEnv {
                    image: i.image.clone(),
                    env: i.env.clone(),
                })
                .collect(),
            ..SimTimings::default()
        };
        let mut builder = Emulator::builder()
            .seed(seed)
            .default_account_id(setup.account_id.clone())
            .default_region(setup.region.clone())
            .topology(topology)
            .sim_timings(sim);
        for (name, spec) in &setup.functions {
            let target = match spec {
                FunctionSpec::Url(url) => FunctionTarget::Http { url: url.clone() },
                FunctionSpec::Command(argv) => FunctionTarget::Command {
                    program: argv[0].clone(),
                    args: argv[1..].to_vec(),
                },
            };
            builder = builder.function(name.clone(), target);
        }
        builder = match runtime {
            RuntimeName::Sim => builder.clock(ClockMode::Virtual),
            RuntimeName::Docker => {
                prepare_docker_images(scenario).await?;
                builder
                    .clock(ClockMode::System)
                    .time_scale(setup.speed)
                    .runtime(Runtime::Docker(DockerOptions {
                        instance: instance.to_string(),
                        pull_images: false,
                        ..DockerOptions::default()
                    }))
            }
        };
        let emulator = builder
            .start()
            .await
            .map_err(|e| format!("cannot start the emulator: {e}"))?;
        let shared = emulator.shared().clone();
        let start_ms = shared.clock.now_ms();
        Ok(Self {
            emulator: Some(emulator),
            shared,
            runtime,
            account_id: setup.account_id.clone(),
            region: setup.region.clone(),
            start_ms,
            pending: parking_lot::Mutex::new(Vec::new()),
        })
    }

    pub fn is_live(&self) -> bool {
        self.runtime == RuntimeName::Docker
    }

    /// Scenario time: control-plane milliseconds since the scenario started.
    pub fn now_ms(&self) -> u64 {
        self.shared.clock.now_ms().saturating_sub(self.start_ms)
    }

    /// Control-plane milliseconds since the epoch.
    pub fn clock_ms(&self) -> u64 {
        self.shared.clock.now_ms()
    }

    pub fn time_scale(&self) -> f64 {
        self.shared.clock.time_scale()
    }

    /// Reads the engine (briefly locked).
    pub fn with_engine<T>(&self, read: impl FnOnce(&Engine) -> T) -> T {
        let engine = self.shared.engine.lock();
        read(&engine)
    }

    /// Changes the engine (briefly locked) and carries out what that queued.
    pub async fn with_engine_mut<T>(&self, change: impl FnOnce(&mut Engine) -> T) -> T {
        self.flush().await;
        self.shared.change_engine(change).await
    }

    /// One API call, as the gateway makes it: the input validated against the operation's
    /// shape, the answer the operation's output as JSON.
    pub async fn call(&self, service: &str, operation: &str, input: Value) -> Result<Value, AwsError> {
        let result = self.call_now(service, operation, input);
        self.flush().await;
        result
    }

    /// Sends the runtime commands synchronous calls queued, in order.
    pub async fn flush(&self) {
        let commands = std::mem::take(&mut *self.pending.lock());
        if !commands.is_empty() {
            self.shared.send_runtime_commands(commands).await;
        }
    }

    /// A call made at once; the runtime commands it queued go out at the next [`Self::flush`].
    pub fn call_now(&self, service: &str, operation: &str, mut input: Value) -> Result<Value, AwsError> {
        let schema = self
            .shared
            .catalog
            .services()
            .iter()
            .copied()
            .find(|s| s.name == service)
            .ok_or_else(|| {
                AwsError::client("UnknownService", format!("ecsim serves no service '{service}'"))
            })?;
        let op = schema.operation(operation).ok_or_else(|| {
            AwsError::client(
                "UnknownOperationException",
                format!("{service} has no operation '{operation}'"),
            )
        })?;
        if let Some(shape) = op.input {
            if input.is_null() {
                input = Value::Object(serde_json::Map::new());
            }
            ecsim_protocol::validate(schema, shape, &mut input)?;
        }
        let caller = Caller {
            access_key_id: Some(self.account_id.clone()),
            region: Some(self.region.clone()),
            signing_service: Some(schema.signing_name.to_string()),
        };
        let (result, _request_id, commands) = self.shared.call(schema, op, input, &caller);
        self.pending.lock().extend(commands);
        result
    }

    /// A read of every page: [`Self::call_now`] again with the answer's `nextToken` (ECS,
    /// CodeDeploy), `NextToken` (CloudWatch) or `NextMarker` (ELBv2, sent as `Marker`) until
    /// there is none, the lists of all pages joined.
    pub fn call_now_all_pages(
        &self,
        service: &str,
        operation: &str,
        input: Value,
    ) -> Result<Value, AwsError> {
        const TOKENS: [(&str, &str); 3] = [
            ("nextToken", "nextToken"),
            ("NextToken", "NextToken"),
            ("NextMarker", "Marker"),
        ];
        // Bounded: a page loop that never ends would be an emulator bug, not a long list.
        const MAX_PAGES: usize = 10_000;
        let mut answer = self.call_now(service, operation, input.clone())?;
        for _ in 0..MAX_PAGES {
            let Some((token, input_name)) = TOKENS
                .iter()
                .find_map(|(out, input_name)| Some((answer.get(*out)?.as_str()?.to_string(), *input_name)))
            else {
                break;
            };
            let mut next_input = match &input {
                Value::Object(fields) => fields.clone(),
                _ => serde_json::Map::new(),
            };
            next_input.insert(input_name.to_string(), Value::String(token));
            let page = self.call_now(service, operation, Value::Object(next_input))?;
            let (Some(all), Value::Object(fields)) = (answer.as_object_mut(), page) else {
                break;
            };
            // The last page's token (or none) replaces the one followed.
            for (out, _) in TOKENS {
                all.remove(out);
            }
            for (key, value) in fields {
                match (all.get_mut(&key), value) {
                    (Some(Value::Array(joined)), Value::Array(more)) => joined.extend(more),
                    (_, value) => {
                        all.insert(key, value);
                    }
                }
            }
        }
        Ok(answer)
    }

    /// Moves time forward to scenario time `until_ms`, calling `observe` after every controller
    /// deadline on the virtual clock (every poll on the live clock). `observe` returns true to
    /// stop early.
    pub async fn run_until(&self, until_ms: u64, mut observe: impl FnMut(&Self) -> bool) {
        if self.is_live() {
            while self.now_ms() < until_ms {
                let left_ms = until_ms.saturating_sub(self.now_ms());
                let real_ms = ecsim_core::clock::real_ms(left_ms, self.time_scale(), 1).min(LIVE_POLL_MS);
                #[allow(clippy::disallowed_methods)]
                // the live clock runs in real time: the runner waits with it
                tokio::time::sleep(Duration::from_millis(real_ms)).await;
                let stop = observe(self);
                self.flush().await;
                if stop {
                    return;
                }
            }
            return;
        }
        let end_ms = self.start_ms + until_ms;
        loop {
            let now = self.shared.clock.now_ms();
            if now >= end_ms {
                return;
            }
            let next = self
                .with_engine(Engine::next_deadline)
                .map_or(end_ms, |d| d.clamp(now, end_ms));
            self.shared.advance_virtual(next - now);
            if observe(self) {
                return;
            }
            if next == now {
                // Everything due ran; nothing else is due at this instant.
                let after = self.with_engine(Engine::next_deadline);
                if after.is_some_and(|d| d <= now) {
                    self.shared.advance_virtual(1);
                }
            }
        }
    }

    /// Where a load balancer's listener (by ARN or DNS name; `port`, else port 80, else the
    /// lowest) really listens.
    pub fn listener_address(&self, load_balancer: &str, port: Option<u16>) -> Option<std::net::SocketAddr> {
        let mut listeners: Vec<_> = self
            .shared
            .data_plane
            .get()?
            .listeners()
            .into_iter()
            .filter(|l| {
                l.load_balancer_arn == load_balancer || l.dns_name.eq_ignore_ascii_case(load_balancer)
            })
            .collect();
        listeners.sort_by_key(|l| l.port);
        let chosen = match port {
            Some(p) => listeners.iter().find(|l| l.port == p),
            None => listeners.iter().find(|l| l.port == 80).or(listeners.first()),
        }?;
        Some(chosen.address)
    }

    /// Stops the emulator (on Docker also removing its containers and networks).
    pub async fn shutdown(mut self) {
        if let Some(emulator) = self.emulator.take() {
            emulator.shutdown().await;
        }
    }
}

/// On the Docker runtime every image a scenario models (`setup.images`) must exist locally:
/// the stand-in image (`setup.dockerImage`, the test application) is tagged with its name
/// when it is missing, so the same file runs unchanged.
async fn prepare_docker_images(scenario: &Scenario) -> Result<(), String> {
    for model in &scenario.setup.images {
        let reference = if model.image.contains(':') || model.image.contains('@') {
            model.image.clone()
        } else {
            format!("{}:latest", model.image)
        };
        let exists = tokio::process::Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", &reference])
            .output()
            .await
            .map_err(|e| format!("cannot run docker: {e}"))?
            .status
            .success();
        if exists {
            continue;
        }
        let tagged = tokio::process::Command::new("docker")
            .args(["tag", &scenario.setup.docker_image, &reference])
            .output()
            .await
            .map_err(|e| format!("cannot run docker: {e}"))?;
        if !tagged.status.success() {
            return Err(format!(
                "image {reference} is not present and {} cannot stand in for it: {}",
                scenario.setup.docker_image,
                String::from_utf8_lossy(&tagged.stderr).trim()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    async fn session() -> Session {
        let file = super::super::parse("pages.yaml", "name: pages\nsteps:\n  - advance: 1s\n")
            .expect("a valid scenario");
        Session::start(&file.scenarios[0], RuntimeName::Sim, 1, "unit-pages")
            .await
            .expect("the emulator starts")
    }

    fn len(answer: &Value, key: &str) -> usize {
        answer[key].as_array().map_or(0, Vec::len)
    }

    #[tokio::test]
    async fn all_pages_follows_each_services_token_and_joins_the_lists() {
        let session = session().await;
        for i in 0..120 {
            session
                .call_now(
                    "cloudwatch",
                    "PutMetricAlarm",
                    json!({
                        "AlarmName": format!("alarm-{i:03}"), "Namespace": "App", "MetricName": "Errors",
                        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0,
                        "ComparisonOperator": "GreaterThanThreshold"
                    }),
                )
                .expect("PutMetricAlarm");
        }
        for i in 0..25 {
            session
                .call_now(
                    "ecs",
                    "CreateCluster",
                    json!({ "clusterName": format!("c{i:02}") }),
                )
                .expect("CreateCluster");
        }
        let vpc = session
            .call_now("ec2", "DescribeVpcs", json!({}))
            .expect("DescribeVpcs")["Vpcs"][0]["VpcId"]
            .as_str()
            .expect("the default VPC")
            .to_string();
        for i in 0..25 {
            session
                .call_now(
                    "elbv2",
                    "CreateTargetGroup",
                    json!({ "Name": format!("tg-{i:02}"), "Protocol": "HTTP", "Port": 80, "VpcId": vpc }),
                )
                .expect("CreateTargetGroup");
        }

        // CloudWatch: NextToken; a first page is not everything.
        let first = session
            .call_now("cloudwatch", "DescribeAlarms", json!({}))
            .unwrap();
        assert!(len(&first, "MetricAlarms") < 120 && first.get("NextToken").is_some());
        let all = session
            .call_now_all_pages("cloudwatch", "DescribeAlarms", json!({}))
            .unwrap();
        assert_eq!(len(&all, "MetricAlarms"), 120);
        assert!(all.get("NextToken").is_none(), "no token is left over");
        let names: Vec<&str> = all["MetricAlarms"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["AlarmName"].as_str())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 120, "each alarm once");

        // ECS: nextToken, with the caller's page size kept on every page.
        let first = session
            .call_now("ecs", "ListClusters", json!({ "maxResults": 10 }))
            .unwrap();
        assert_eq!(len(&first, "clusterArns"), 10);
        let all = session
            .call_now_all_pages("ecs", "ListClusters", json!({ "maxResults": 10 }))
            .unwrap();
        assert_eq!(len(&all, "clusterArns"), 25);
        assert!(all.get("nextToken").is_none());

        // ELBv2: NextMarker answered, Marker sent.
        let first = session
            .call_now("elbv2", "DescribeTargetGroups", json!({ "PageSize": 10 }))
            .unwrap();
        assert_eq!(len(&first, "TargetGroups"), 10);
        let all = session
            .call_now_all_pages("elbv2", "DescribeTargetGroups", json!({ "PageSize": 10 }))
            .unwrap();
        assert_eq!(len(&all, "TargetGroups"), 25);
        assert!(all.get("NextMarker").is_none());
        session.shutdown().await;
    }
}

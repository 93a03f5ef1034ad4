//! What the runner watches while a scenario runs: RUNNING tasks and the states of ECS service
//! deployments and CodeDeploy deployments at every controller step (cheap, read straight from
//! the world, for `expect: running` and `expect: deploymentHistory`), and timeline samples every
//! `setup.sampleEvery` and at each step for the report: those counts and states, plus listener
//! weights and alarm states (through the Describe APIs), traffic counts and the fault log.
//!
//! It must not change any resource: every call it makes is a read.

use std::collections::BTreeMap;

use ecsim_control::ecs::state::TaskStatus;
use ecsim_scenario::record::{Mark, OutcomeCounts, Timeline};
use serde_json::{Value, json};

use super::session::Session;
use super::traffic::{Counts, TrafficBook, revision_of};

/// What a RUNNING task is counted under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct RunningKey {
    pub service: String,
    pub revision: String,
    pub zone: String,
}

pub(super) type RunningCounts = BTreeMap<RunningKey, u32>;

pub(super) struct Recorder {
    pub timeline: Timeline,
    sample_every_ms: u64,
    next_sample_ms: u64,
    /// RUNNING counts each time they changed, with the scenario time.
    pub running: Vec<(u64, RunningCounts)>,
    /// Distinct states each deployment went through, in order.
    pub deployment_states: BTreeMap<String, Vec<String>>,
    /// Each deployment's state at the last controller step.
    latest_deployment_states: Vec<(String, String)>,
    last_outcomes: BTreeMap<String, OutcomeCounts>,
    faults_seen: usize,
}

fn pad<T: Clone>(series: &mut BTreeMap<String, Vec<T>>, len: usize, empty: T) {
    for values in series.values_mut() {
        values.resize(len, empty.clone());
    }
}

fn put<T: Clone>(series: &mut BTreeMap<String, Vec<T>>, key: &str, value: T, len: usize, empty: T) {
    let values = series.entry(key.to_string()).or_default();
    values.resize(len - 1, empty);
    values.push(value);
}

fn array<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl Recorder {
    pub fn new(sample_every_ms: u64) -> Self {
        Self {
            timeline: Timeline::default(),
            sample_every_ms,
            next_sample_ms: 0,
            running: Vec::new(),
            deployment_states: BTreeMap::new(),
            latest_deployment_states: Vec::new(),
            last_outcomes: BTreeMap::new(),
            faults_seen: 0,
        }
    }

    /// After a controller step: records RUNNING counts when they changed, and each deployment's
    /// state (so `expect: deploymentHistory` sees every state on the virtual clock, however
    /// briefly held).
    pub fn observe(&mut self, session: &Session) {
        let (counts, states) = session.with_engine(|engine| {
            let mut counts = RunningCounts::new();
            let mut states = Vec::new();
            let Some(world) = engine.world(&session.account_id, &session.region) else {
                return (counts, states);
            };
            // Keyed `<service>/<id>` (ECS) or by id (CodeDeploy), spelled as the APIs answer.
            for d in world.ecs.service_deployments.values() {
                let id = d.arn.rsplit('/').next().unwrap_or(&d.arn);
                states.push((format!("{}/{id}", d.service_name), d.status.to_string()));
            }
            for d in world.codedeploy.deployments.values() {
                states.push((d.id.clone(), d.status.to_string()));
            }
            for cluster in world.ecs.clusters.values() {
                for task in cluster.tasks.values().filter(|t| t.status == TaskStatus::Running) {
                    let key = RunningKey {
                        service: task.service_name.clone().unwrap_or_default(),
                        revision: revision_of(&task.task_definition_arn),
                        zone: task.placement.availability_zone.clone(),
                    };
                    *counts.entry(key).or_insert(0) += 1;
                }
            }
            (counts, states)
        });
        if self.running.last().is_none_or(|(_, last)| *last != counts) {
            self.running.push((session.now_ms(), counts));
        }
        for (key, state) in &states {
            let seen = self.deployment_states.entry(key.clone()).or_default();
            if seen.last() != Some(state) {
                seen.push(state.clone());
            }
        }
        self.latest_deployment_states = states;
    }

    /// Whether a timeline sample is due.
    pub fn sample_due(&self, session: &Session) -> bool {
        session.now_ms() >= self.next_sample_ms
    }

    /// Takes a timeline sample now.
    pub fn sample(&mut self, session: &Session, traffic: &TrafficBook) {
        let now_ms = session.now_ms();
        self.next_sample_ms = now_ms + self.sample_every_ms;
        if self.timeline.times_ms.last() == Some(&now_ms) {
            return;
        }
        self.observe(session);
        self.timeline.times_ms.push(now_ms);
        let len = self.timeline.times_ms.len();
        let running = self.running.last().map(|(_, c)| c.clone()).unwrap_or_default();
        let mut by_revision: BTreeMap<String, u32> = BTreeMap::new();
        let mut by_zone: BTreeMap<String, u32> = BTreeMap::new();
        for (key, n) in &running {
            *by_revision.entry(key.revision.clone()).or_insert(0) += n;
            *by_zone.entry(key.zone.clone()).or_insert(0) += n;
        }
        let t = &mut self.timeline;
        for (key, n) in by_revision {
            put(&mut t.running_by_revision, &key, n, len, 0);
        }
        for (key, n) in by_zone {
            put(&mut t.running_by_zone, &key, n, len, 0);
        }
        pad(&mut t.running_by_revision, len, 0);
        pad(&mut t.running_by_zone, len, 0);
        for (key, weight) in weights(session) {
            put(&mut t.weights, &key, Some(weight), len, None);
        }
        pad(&mut t.weights, len, None);
        for (name, state) in alarms(session) {
            put(&mut t.alarm_states, &name, Some(state), len, None);
        }
        pad(&mut t.alarm_states, len, None);
        for (key, state) in &self.latest_deployment_states {
            put(
                &mut self.timeline.deployment_states,
                key,
                Some(state.clone()),
                len,
                None,
            );
        }
        pad(&mut self.timeline.deployment_states, len, None);
        let totals = per_version(&traffic.counts(session));
        for (version, total) in &totals {
            let last = self.last_outcomes.get(version).copied().unwrap_or_default();
            let delta = OutcomeCounts {
                // Live answers are attributed when sampled: one not yet matched to a task can move
                // to its version later, so a count may shrink.
                ok: total.ok.saturating_sub(last.ok),
                client_errors: total.client_errors.saturating_sub(last.client_errors),
                server_errors: total.server_errors.saturating_sub(last.server_errors),
            };
            put(
                &mut self.timeline.outcomes_by_version,
                version,
                delta,
                len,
                OutcomeCounts::default(),
            );
        }
        pad(
            &mut self.timeline.outcomes_by_version,
            len,
            OutcomeCounts::default(),
        );
        self.last_outcomes = totals;
        self.faults(session);
    }

    fn faults(&mut self, session: &Session) {
        let start_ms = session.clock_ms().saturating_sub(session.now_ms());
        let events = session.with_engine(|engine| engine.fault_events(10_000));
        let list: Vec<&Value> = array(&events, "events").collect();
        for event in list.iter().skip(self.faults_seen) {
            let at_ms = event.get("atMs").and_then(Value::as_u64).unwrap_or(start_ms);
            self.timeline.faults.push(Mark {
                at_ms: at_ms.saturating_sub(start_ms),
                label: format!(
                    "{} {} {}",
                    text(event, "faultId"),
                    text(event, "type"),
                    text(event, "event")
                ),
            });
        }
        self.faults_seen = list.len();
    }
}

/// Answers per version, all runs together.
fn per_version(counts: &Counts) -> BTreeMap<String, OutcomeCounts> {
    let mut out: BTreeMap<String, OutcomeCounts> = BTreeMap::new();
    for (who, statuses) in counts {
        let entry = out.entry(who.version.clone()).or_default();
        for (status, n) in statuses {
            entry.add_status(*status, *n);
        }
    }
    out
}

/// Every page of a read; `Null` when it fails (a sample shows what it could read).
fn read(session: &Session, service: &str, operation: &str, input: Value) -> Value {
    session
        .call_now_all_pages(service, operation, input)
        .unwrap_or(Value::Null)
}

/// Forward weights of every listener's rules: `"<load balancer>:<port> <rule> → <group>"`.
fn weights(session: &Session) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let lbs = read(session, "elbv2", "DescribeLoadBalancers", json!({}));
    for lb in array(&lbs, "LoadBalancers") {
        let lb_name = text(lb, "LoadBalancerName");
        let listeners = read(
            session,
            "elbv2",
            "DescribeListeners",
            json!({ "LoadBalancerArn": text(lb, "LoadBalancerArn") }),
        );
        for listener in array(&listeners, "Listeners") {
            let port = listener.get("Port").and_then(Value::as_u64).unwrap_or(0);
            let rules = read(
                session,
                "elbv2",
                "DescribeRules",
                json!({ "ListenerArn": text(listener, "ListenerArn") }),
            );
            for rule in array(&rules, "Rules") {
                let priority = text(rule, "Priority");
                let rule_label = if priority == "default" {
                    String::new()
                } else {
                    format!(" rule {priority}")
                };
                for action in array(rule, "Actions").filter(|a| text(a, "Type") == "forward") {
                    let groups: Vec<(String, u32)> = match action.get("ForwardConfig") {
                        Some(config) => array(config, "TargetGroups")
                            .map(|g| {
                                let weight = g.get("Weight").and_then(Value::as_u64).unwrap_or(1);
                                (
                                    text(g, "TargetGroupArn").to_string(),
                                    u32::try_from(weight).unwrap_or(0),
                                )
                            })
                            .collect(),
                        None => vec![(text(action, "TargetGroupArn").to_string(), 100)],
                    };
                    let sum: u32 = groups.iter().map(|(_, w)| w).sum();
                    for (arn, weight) in groups {
                        // Weights are relative; the report shows each group's share of 100.
                        let share = (weight * 100).checked_div(sum).unwrap_or(0);
                        let group = super::traffic::target_group_name(&arn);
                        out.push((format!("{lb_name}:{port}{rule_label} → {group}"), share));
                    }
                }
            }
        }
    }
    out
}

fn alarms(session: &Session) -> Vec<(String, String)> {
    let answer = read(session, "cloudwatch", "DescribeAlarms", json!({}));
    array(&answer, "MetricAlarms")
        .chain(array(&answer, "CompositeAlarms"))
        .map(|a| {
            (
                text(a, "AlarmName").to_string(),
                text(a, "StateValue").to_string(),
            )
        })
        .collect()
}

//! AWS/ECS `CPUUtilization` and `MemoryUtilization` per cluster and per service, and
//! ECS/ContainerInsights task counts, computed once a minute from the tasks RUNNING at the
//! minute's end: simulated tasks from their behaviour model, runtime tasks from what the runtime
//! measured (Docker stats).
//!
//! It only reads the world; it never invents a value for a task nobody measured.

use std::collections::BTreeMap;

use ecsim_core::{MetricDatum, Millis};

use super::state::{TaskRecord, TaskStatus};
use crate::world::World;

pub const ECS_NAMESPACE: &str = "AWS/ECS";
pub const INSIGHTS_NAMESPACE: &str = "ECS/ContainerInsights";
pub const MINUTE_MS: Millis = 60_000;

/// (CPU %, memory %) of the task's reservation, or `None` when nothing measured it yet.
pub fn task_utilization(task: &TaskRecord) -> Option<(f64, f64)> {
    if let Some(measured) = task.measured_utilization {
        return Some(measured);
    }
    if task.containers.iter().any(|c| c.runtime.is_some()) {
        return None;
    }
    let n = task.containers.len();
    if n == 0 {
        return None;
    }
    // Each container uses its percentage of its share of the task: shares follow the container
    // CPU units when every container sets them, else they are equal.
    let units: Vec<f64> = task
        .containers
        .iter()
        .filter_map(|c| c.cpu.as_deref().and_then(|v| v.parse::<f64>().ok()))
        .filter(|u| *u > 0.0)
        .collect();
    let shares: Vec<f64> = if units.len() == n {
        let total: f64 = units.iter().sum();
        units.iter().map(|u| u / total).collect()
    } else {
        vec![1.0 / n as f64; n]
    };
    let cpu = task
        .containers
        .iter()
        .zip(&shares)
        .map(|(c, share)| c.behaviour.cpu_percent * share)
        .sum();
    let memory = task
        .containers
        .iter()
        .zip(&shares)
        .map(|(c, share)| c.behaviour.memory_percent * share)
        .sum();
    Some((cpu, memory))
}

fn datum(
    namespace: &str,
    name: &str,
    dimensions: Vec<(String, String)>,
    at_ms: Millis,
    unit: &str,
    values: Vec<(f64, f64)>,
) -> MetricDatum {
    MetricDatum {
        namespace: namespace.to_string(),
        metric_name: name.to_string(),
        dimensions,
        timestamp_ms: at_ms,
        unit: unit.to_string(),
        values,
    }
}

/// The data for the minute starting at `minute_start_ms`, sampled from the world as it is now.
/// One value per running task, so Average, Minimum, Maximum and SampleCount mean what they do on
/// ECS (across the tasks of the service or cluster).
pub fn minute_metrics(world: &World, minute_start_ms: Millis) -> Vec<MetricDatum> {
    let mut data = Vec::new();
    for cluster in world.ecs.clusters.values() {
        let mut by_service: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        let mut cluster_values = Vec::new();
        for task in cluster.tasks.values() {
            if task.status != TaskStatus::Running {
                continue;
            }
            let Some(u) = task_utilization(task) else { continue };
            cluster_values.push(u);
            if let Some(service) = task.service_name.as_deref() {
                by_service.entry(service).or_default().push(u);
            }
        }
        let cluster_dim = || vec![("ClusterName".to_string(), cluster.name.clone())];
        utilization(&mut data, cluster_dim(), &cluster_values, minute_start_ms);
        for service in cluster.services.values() {
            let mut dimensions = cluster_dim();
            dimensions.push(("ServiceName".to_string(), service.name.clone()));
            let values = by_service
                .get(service.name.as_str())
                .map_or(&[][..], Vec::as_slice);
            utilization(&mut data, dimensions, values, minute_start_ms);
            if service.status != "ACTIVE" {
                continue;
            }
            let running = by_service.get(service.name.as_str()).map_or(0, Vec::len);
            let pending = cluster
                .tasks
                .values()
                .filter(|t| {
                    t.service_name.as_deref() == Some(service.name.as_str()) && t.status < TaskStatus::Running
                })
                .count();
            let mut insights = vec![("ServiceName".to_string(), service.name.clone())];
            insights.push(("ClusterName".to_string(), cluster.name.clone()));
            for (name, value) in [
                ("RunningTaskCount", running as f64),
                ("PendingTaskCount", pending as f64),
                ("DesiredTaskCount", f64::from(service.desired_count.max(0))),
            ] {
                data.push(datum(
                    INSIGHTS_NAMESPACE,
                    name,
                    insights.clone(),
                    minute_start_ms,
                    "Count",
                    vec![(value, 1.0)],
                ));
            }
        }
    }
    data
}

/// CPUUtilization and MemoryUtilization, one value per task, when there are tasks.
fn utilization(
    data: &mut Vec<MetricDatum>,
    dimensions: Vec<(String, String)>,
    values: &[(f64, f64)],
    at_ms: Millis,
) {
    if values.is_empty() {
        return;
    }
    let cpu = values.iter().map(|(c, _)| (*c, 1.0)).collect();
    let memory = values.iter().map(|(_, m)| (*m, 1.0)).collect();
    data.push(datum(
        ECS_NAMESPACE,
        "CPUUtilization",
        dimensions.clone(),
        at_ms,
        "Percent",
        cpu,
    ));
    data.push(datum(
        ECS_NAMESPACE,
        "MemoryUtilization",
        dimensions,
        at_ms,
        "Percent",
        memory,
    ));
}

/// Whether the world has anything to report (clusters with services or tasks).
pub fn has_workload(world: &World) -> bool {
    world
        .ecs
        .clusters
        .values()
        .any(|c| !c.services.is_empty() || !c.tasks.is_empty())
}

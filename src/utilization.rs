//! Measures real containers for AWS/ECS CPUUtilization and MemoryUtilization: once a minute of
//! control-plane time it reads Docker stats of every running task's containers and hands the
//! engine each task's CPU and memory as percent of its reservation. An IO edge: the engine only
//! receives numbers.
//!
//! CPU is the average over the minute (the change in the container's CPU time against the
//! host's since the previous reading), so the first reading of a container reports nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::shared::Shared;

/// Control-plane milliseconds between readings (ECS reports per minute).
const READING_EVERY_MS: u64 = 60_000;
/// CPU units of one vCPU, as ECS counts them.
const UNITS_PER_VCPU: f64 = 1_024.0;

/// What one task's containers are measured against.
struct Measured {
    world: usize,
    task_id: String,
    container_ids: Vec<String>,
    cpu_units: f64,
    memory_mib: Option<f64>,
}

/// (container CPU ns, host CPU ns) at the previous reading, by container id.
type CpuReadings = HashMap<String, (u64, u64)>;

pub async fn run(shared: Arc<Shared>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut previous: CpuReadings = HashMap::new();
    loop {
        let wait_ms = ecsim_core::clock::real_ms(READING_EVERY_MS, shared.clock.time_scale(), 50);
        // The utilization reader is an IO edge that waits on the system clock.
        #[allow(clippy::disallowed_methods)]
        let sleep = tokio::time::sleep(Duration::from_millis(wait_ms));
        tokio::select! {
            () = sleep => {}
            _ = shutdown.changed() => return,
        }
        let Some(docker) = shared.docker.get() else {
            return;
        };
        let tasks = running_tasks(&shared);
        let mut seen = Vec::new();
        let mut readings = Vec::new();
        for task in &tasks {
            let mut cores = 0.0;
            let mut memory_bytes = 0.0;
            let mut memory_limit = 0.0;
            let mut complete = true;
            for id in &task.container_ids {
                seen.push(id.clone());
                let Some(stats) = docker.stats(id).await else {
                    complete = false;
                    continue;
                };
                match cpu_cores(&stats, previous.get(id).copied()) {
                    (Some(c), Some(sample)) => {
                        cores += c;
                        previous.insert(id.clone(), sample);
                    }
                    (None, Some(sample)) => {
                        complete = false;
                        previous.insert(id.clone(), sample);
                    }
                    (_, None) => complete = false,
                }
                memory_bytes += memory_used(&stats);
                memory_limit += stats["memory_stats"]["limit"].as_f64().unwrap_or(0.0);
            }
            if !complete {
                continue;
            }
            let cpu_pct = cores * UNITS_PER_VCPU / task.cpu_units * 100.0;
            let reserved_bytes = task.memory_mib.map_or(memory_limit, |mib| mib * 1_048_576.0);
            let memory_pct = if reserved_bytes > 0.0 {
                memory_bytes / reserved_bytes * 100.0
            } else {
                0.0
            };
            readings.push((task.world, task.task_id.clone(), cpu_pct, memory_pct));
        }
        previous.retain(|id, _| seen.contains(id));
        if !readings.is_empty() {
            let mut engine = shared.engine.lock();
            for (world, task_id, cpu, memory) in readings {
                engine.observe_utilization(world, &task_id, cpu, memory);
            }
        }
    }
}

fn running_tasks(shared: &Shared) -> Vec<Measured> {
    let engine = shared.engine.lock();
    let mut out = Vec::new();
    for (world_index, world) in engine.worlds().iter().enumerate() {
        for cluster in world.ecs.clusters.values() {
            for task in cluster.tasks.values() {
                if task.status != ecsim_control::ecs::state::TaskStatus::Running {
                    continue;
                }
                let container_ids: Vec<String> = task
                    .containers
                    .iter()
                    .filter_map(|c| c.runtime.as_ref().map(|r| r.runtime_id.clone()))
                    .collect();
                if container_ids.is_empty() {
                    continue;
                }
                let container_units: f64 = task
                    .containers
                    .iter()
                    .filter_map(|c| c.cpu.as_deref()?.parse::<f64>().ok())
                    .sum();
                let cpu_units = task
                    .cpu
                    .as_deref()
                    .and_then(|v| v.parse::<f64>().ok())
                    .filter(|u| *u > 0.0)
                    .or((container_units > 0.0).then_some(container_units))
                    .unwrap_or(UNITS_PER_VCPU);
                let memory_mib = task.memory.as_deref().and_then(|v| v.parse::<f64>().ok());
                out.push(Measured {
                    world: world_index,
                    task_id: task.id.clone(),
                    container_ids,
                    cpu_units,
                    memory_mib,
                });
            }
        }
    }
    out
}

/// Cores used since the previous reading, and this reading to keep.
fn cpu_cores(stats: &Value, previous: Option<(u64, u64)>) -> (Option<f64>, Option<(u64, u64)>) {
    let cpu = &stats["cpu_stats"];
    let (Some(total), Some(system)) = (
        cpu["cpu_usage"]["total_usage"].as_u64(),
        cpu["system_cpu_usage"].as_u64(),
    ) else {
        return (None, None);
    };
    let online = cpu["online_cpus"].as_f64().filter(|n| *n > 0.0).unwrap_or(1.0);
    let sample = (total, system);
    let Some((prev_total, prev_system)) = previous else {
        return (None, Some(sample));
    };
    let system_delta = system.saturating_sub(prev_system) as f64;
    if system_delta <= 0.0 {
        return (None, Some(sample));
    }
    let used = total.saturating_sub(prev_total) as f64;
    (Some(used / system_delta * online), Some(sample))
}

/// Memory in use as `docker stats` shows it: usage minus the inactive page cache.
fn memory_used(stats: &Value) -> f64 {
    let m = &stats["memory_stats"];
    let usage = m["usage"].as_f64().unwrap_or(0.0);
    let cache = m["stats"]["inactive_file"]
        .as_f64()
        .or_else(|| m["stats"]["total_inactive_file"].as_f64())
        .unwrap_or(0.0);
    (usage - cache).max(0.0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cpu_is_the_share_of_host_time_since_the_last_reading() {
        let first = json!({"cpu_stats": {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000, "online_cpus": 2}});
        let (cores, sample) = cpu_cores(&first, None);
        assert_eq!(cores, None, "one reading is not a rate");
        let second = json!({"cpu_stats": {"cpu_usage": {"total_usage": 3_000}, "system_cpu_usage": 20_000, "online_cpus": 2}});
        let (cores, _) = cpu_cores(&second, sample);
        // 2,000 ns of 10,000 host ns across 2 CPUs = 0.4 cores.
        assert_eq!(cores, Some(0.4));
    }

    #[test]
    fn memory_leaves_out_the_inactive_cache() {
        let stats = json!({"memory_stats": {"usage": 10_000_000, "stats": {"inactive_file": 2_000_000}}});
        assert_eq!(memory_used(&stats), 8_000_000.0);
    }
}

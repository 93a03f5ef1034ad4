//! Turns an ECS container definition into a Docker container configuration: command, environment,
//! limits, health check, ports, user, ulimits, Linux parameters, labels.
//!
//! Pure translation, no Docker calls. Fields ecsim cannot honour (`secrets`, `environmentFiles`)
//! are refused before this runs (`ecsim_control::runtime::unsupported`), never silently dropped.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HealthConfig, HostConfig, PortBinding, ResourcesUlimits};
use ecsim_api::ecs as api;
use ecsim_control::task_runtime::TaskLaunch;

use crate::labels;

/// ECS's default stop timeout when the definition sets none.
pub const DEFAULT_STOP_TIMEOUT_S: i64 = 30;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const MIB: i64 = 1024 * 1024;

/// How a container joins the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attach {
    /// Its own network namespace on this Docker network, publishing these container ports.
    Network {
        name: String,
        publish: Vec<(u16, api::TransportProtocol)>,
    },
    /// The network namespace of another container (multi-container awsvpc tasks).
    Container(String),
}

/// The container ports a definition exposes.
pub fn ports(c: &api::ContainerDefinition) -> Vec<(u16, api::TransportProtocol)> {
    c.port_mappings
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|pm| {
            let port = u16::try_from(pm.container_port?).ok()?;
            Some((port, pm.protocol.unwrap_or(api::TransportProtocol::Tcp)))
        })
        .collect()
}

fn port_key(port: u16, protocol: api::TransportProtocol) -> String {
    format!("{port}/{}", protocol.as_str())
}

/// Publishes `ports` on 127.0.0.1 at ports the daemon picks (read back after start).
pub fn publish(
    host: &mut HostConfig,
    body: &mut ContainerCreateBody,
    ports: &[(u16, api::TransportProtocol)],
) {
    if ports.is_empty() {
        return;
    }
    let mut map = HashMap::new();
    let mut exposed = Vec::new();
    for &(port, protocol) in ports {
        let key = port_key(port, protocol);
        exposed.push(key.clone());
        map.insert(
            key,
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(String::new()),
            }]),
        );
    }
    host.port_bindings = Some(map);
    body.exposed_ports = Some(exposed);
}

fn seconds_to_nanos(seconds: Option<i32>, default_s: i64) -> i64 {
    seconds.map_or(default_s, i64::from) * NANOS_PER_SECOND
}

/// Docker's health check for an ECS `healthCheck` (`CMD` / `CMD-SHELL` forms are the same).
pub fn health(h: &api::HealthCheck) -> HealthConfig {
    HealthConfig {
        test: Some(h.command.clone()),
        interval: Some(seconds_to_nanos(h.interval, 30)),
        timeout: Some(seconds_to_nanos(h.timeout, 5)),
        retries: Some(h.retries.map_or(3, i64::from)),
        start_period: Some(seconds_to_nanos(h.start_period, 0)),
        start_interval: None,
    }
}

/// The full Docker configuration for container `index` of `launch`.
pub fn container_body(
    launch: &TaskLaunch,
    index: usize,
    image: &str,
    attach: &Attach,
    extra_env: &[String],
    instance: &str,
) -> ContainerCreateBody {
    let c = &launch.containers[index];
    let mut env: Vec<String> = c
        .environment
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|kv| {
            Some(format!(
                "{}={}",
                kv.name.as_deref()?,
                kv.value.as_deref().unwrap_or("")
            ))
        })
        .collect();
    env.extend(extra_env.iter().cloned());

    let mut label_map: HashMap<String, String> =
        c.docker_labels.clone().unwrap_or_default().into_iter().collect();
    label_map.extend(labels::container(launch, index, instance));

    let mut host = HostConfig {
        // ECS maps container CPU units to CPU shares, 2 at least.
        cpu_shares: Some(i64::from(c.cpu.unwrap_or(0)).max(2)),
        memory: c.memory.map(|m| i64::from(m) * MIB).or_else(|| {
            launch
                .task_memory_mib
                .map(|m| i64::from(m) * MIB)
                .filter(|_| launch.network_mode == api::NetworkMode::Awsvpc)
        }),
        memory_reservation: c.memory_reservation.map(|m| i64::from(m) * MIB),
        // Task-level CPU (Fargate) caps each container at the task's vCPUs.
        nano_cpus: launch
            .task_cpu_units
            .filter(|u| *u > 0 && launch.network_mode == api::NetworkMode::Awsvpc)
            .map(|u| i64::from(u) * NANOS_PER_SECOND / 1024),
        ulimits: c.ulimits.as_ref().map(|us| {
            us.iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.as_str().to_string()),
                    soft: Some(i64::from(u.soft_limit)),
                    hard: Some(i64::from(u.hard_limit)),
                })
                .collect()
        }),
        readonly_rootfs: c.readonly_root_filesystem,
        privileged: c.privileged,
        security_opt: c.docker_security_options.clone(),
        dns: c.dns_servers.clone(),
        dns_search: c.dns_search_domains.clone(),
        extra_hosts: c.extra_hosts.as_ref().map(|hs| {
            hs.iter()
                .map(|h| format!("{}:{}", h.hostname, h.ip_address))
                .collect()
        }),
        sysctls: c.system_controls.as_ref().map(|s| {
            s.iter()
                .filter_map(|sc| Some((sc.namespace.clone()?, sc.value.clone().unwrap_or_default())))
                .collect()
        }),
        ..Default::default()
    };
    if let Some(lp) = &c.linux_parameters {
        if let Some(caps) = &lp.capabilities {
            host.cap_add = caps.add.clone();
            host.cap_drop = caps.drop.clone();
        }
        host.init = lp.init_process_enabled;
        host.shm_size = lp.shared_memory_size.map(|m| i64::from(m) * MIB);
        host.memory_swappiness = lp.swappiness.map(i64::from);
        if let (Some(swap), Some(memory)) = (lp.max_swap, host.memory) {
            host.memory_swap = Some(memory + i64::from(swap) * MIB);
        }
        host.tmpfs = lp.tmpfs.as_ref().map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut opts = vec![format!("size={}m", t.size)];
                    opts.extend(t.mount_options.clone().unwrap_or_default());
                    (t.container_path.clone(), opts.join(","))
                })
                .collect()
        });
    }

    let mut body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: c.command.clone(),
        entrypoint: c.entry_point.clone(),
        env: Some(env),
        user: c.user.clone(),
        working_dir: c.working_directory.clone(),
        labels: Some(label_map),
        healthcheck: c.health_check.as_ref().map(health),
        stop_timeout: Some(c.stop_timeout.map_or(DEFAULT_STOP_TIMEOUT_S, i64::from)),
        tty: c.pseudo_terminal,
        open_stdin: c.interactive,
        hostname: c
            .hostname
            .clone()
            .filter(|_| matches!(attach, Attach::Network { .. })),
        ..Default::default()
    };
    match attach {
        Attach::Network { name, publish: ports } => {
            host.network_mode = Some(name.clone());
            publish(&mut host, &mut body, ports);
        }
        Attach::Container(id) => host.network_mode = Some(format!("container:{id}")),
    }
    body.host_config = Some(host);
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsim_control::task_runtime::TaskKey;

    fn launch(c: api::ContainerDefinition) -> TaskLaunch {
        TaskLaunch {
            key: TaskKey {
                world: 0,
                task_id: "t1".into(),
            },
            task_arn: "arn:aws:ecs:us-east-1:000000000000:task/c/t1".into(),
            cluster_name: "c".into(),
            family: "web".into(),
            revision: 3,
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            availability_zone: "us-east-1a".into(),
            network_mode: api::NetworkMode::Awsvpc,
            subnet_id: Some("subnet-1".into()),
            private_ip: Some("172.31.0.5".into()),
            container_instance_id: None,
            task_cpu_units: Some(512),
            task_memory_mib: Some(1024),
            containers: vec![c],
            metadata_tokens: vec!["t1-1".into()],
            credentials_id: None,
        }
    }

    #[test]
    fn translates_the_honoured_fields() {
        let c = api::ContainerDefinition {
            name: Some("app".into()),
            image: Some("web:1".into()),
            command: Some(vec!["serve".into()]),
            entry_point: Some(vec!["/bin/app".into()]),
            environment: Some(vec![api::KeyValuePair {
                name: Some("A".into()),
                value: Some("1".into()),
            }]),
            memory_reservation: Some(256),
            cpu: Some(0),
            stop_timeout: Some(7),
            user: Some("1000".into()),
            working_directory: Some("/srv".into()),
            readonly_root_filesystem: Some(true),
            docker_labels: Some([("team".to_string(), "x".to_string())].into()),
            ulimits: Some(vec![api::Ulimit {
                name: api::UlimitName::Nofile,
                soft_limit: 1024,
                hard_limit: 2048,
            }]),
            linux_parameters: Some(api::LinuxParameters {
                init_process_enabled: Some(true),
                shared_memory_size: Some(64),
                ..Default::default()
            }),
            health_check: Some(api::HealthCheck {
                command: vec!["CMD".into(), "/bin/check".into()],
                interval: Some(5),
                timeout: None,
                retries: Some(2),
                start_period: None,
            }),
            port_mappings: Some(vec![api::PortMapping {
                container_port: Some(8080),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let l = launch(c);
        let attach = Attach::Network {
            name: "net".into(),
            publish: ports(&l.containers[0]),
        };
        let body = container_body(&l, 0, "web:1", &attach, &["X=y".into()], "inst");
        let host = body.host_config.clone().unwrap();
        assert_eq!(body.cmd, Some(vec!["serve".to_string()]));
        assert_eq!(body.entrypoint, Some(vec!["/bin/app".to_string()]));
        assert_eq!(body.env, Some(vec!["A=1".to_string(), "X=y".to_string()]));
        assert_eq!(body.stop_timeout, Some(7));
        assert_eq!(body.user.as_deref(), Some("1000"));
        assert_eq!(body.working_dir.as_deref(), Some("/srv"));
        assert_eq!(host.cpu_shares, Some(2));
        assert_eq!(
            host.memory,
            Some(1024 * MIB),
            "task memory caps a Fargate container"
        );
        assert_eq!(host.memory_reservation, Some(256 * MIB));
        assert_eq!(host.nano_cpus, Some(NANOS_PER_SECOND / 2));
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.init, Some(true));
        assert_eq!(host.shm_size, Some(64 * MIB));
        assert_eq!(host.ulimits.unwrap()[0].name.as_deref(), Some("nofile"));
        assert_eq!(host.network_mode.as_deref(), Some("net"));
        let bindings = host.port_bindings.unwrap();
        let b = bindings["8080/tcp"].as_ref().unwrap();
        assert_eq!(b[0].host_ip.as_deref(), Some("127.0.0.1"));
        let hc = body.healthcheck.unwrap();
        assert_eq!(hc.interval, Some(5 * NANOS_PER_SECOND));
        assert_eq!(hc.timeout, Some(5 * NANOS_PER_SECOND));
        assert_eq!(hc.retries, Some(2));
        let labels = body.labels.unwrap();
        assert_eq!(labels["team"], "x");
        assert_eq!(labels[labels::INSTANCE], "inst");
    }

    #[test]
    fn joined_containers_publish_nothing() {
        let l = launch(api::ContainerDefinition {
            name: Some("side".into()),
            ..Default::default()
        });
        let body = container_body(&l, 0, "x:1", &Attach::Container("abc".into()), &[], "i");
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("container:abc"));
        assert!(host.port_bindings.is_none());
    }
}

//! The labels that mark Docker objects as ecsim's: only objects carrying `dev.ecsim.instance`
//! with this emulator's instance name are ever stopped, removed or adopted.

use std::collections::HashMap;

use ecsim_control::task_runtime::{TaskKey, TaskLaunch};

/// Present on every container and network ecsim creates.
pub const MANAGED: &str = "dev.ecsim.managed";
/// Which emulator instance owns the object (`--docker-instance`).
pub const INSTANCE: &str = "dev.ecsim.instance";
pub const WORLD: &str = "dev.ecsim.world";
pub const TASK_ID: &str = "dev.ecsim.task-id";
pub const TASK_ARN: &str = "dev.ecsim.task-arn";
/// Index of the container in its task definition; absent on pause containers.
pub const CONTAINER_INDEX: &str = "dev.ecsim.container-index";
pub const CONTAINER_NAME: &str = "dev.ecsim.container-name";
/// `task`, `pause` or `network`.
pub const ROLE: &str = "dev.ecsim.role";
pub const SUBNET: &str = "dev.ecsim.subnet";

/// `label=value` filter for this instance's objects.
pub fn instance_filter(instance: &str) -> String {
    format!("{INSTANCE}={instance}")
}

fn base(instance: &str, role: &str) -> HashMap<String, String> {
    HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (INSTANCE.to_string(), instance.to_string()),
        (ROLE.to_string(), role.to_string()),
    ])
}

fn task(launch: &TaskLaunch, instance: &str, role: &str) -> HashMap<String, String> {
    let mut l = base(instance, role);
    l.insert(WORLD.into(), launch.key.world.to_string());
    l.insert(TASK_ID.into(), launch.key.task_id.clone());
    l.insert(TASK_ARN.into(), launch.task_arn.clone());
    l
}

/// Labels of container `index` of a task.
pub fn container(launch: &TaskLaunch, index: usize, instance: &str) -> HashMap<String, String> {
    let mut l = task(launch, instance, "task");
    l.insert(CONTAINER_INDEX.into(), index.to_string());
    l.insert(
        CONTAINER_NAME.into(),
        launch.containers[index].name.clone().unwrap_or_default(),
    );
    l
}

/// Labels of a task's pause container.
pub fn pause(launch: &TaskLaunch, instance: &str) -> HashMap<String, String> {
    task(launch, instance, "pause")
}

/// Labels of the Docker network of a simulated subnet.
pub fn network(instance: &str, subnet: &str) -> HashMap<String, String> {
    let mut l = base(instance, "network");
    l.insert(SUBNET.into(), subnet.to_string());
    l
}

/// The task and container index a task container's labels (or its Docker event attributes, which
/// carry the labels) name; `None` for pause containers and foreign objects.
pub fn task_container(labels: &HashMap<String, String>) -> Option<(TaskKey, usize)> {
    let key = TaskKey {
        world: labels.get(WORLD)?.parse().ok()?,
        task_id: labels.get(TASK_ID)?.clone(),
    };
    Some((key, labels.get(CONTAINER_INDEX)?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_containers_are_read_back_from_their_labels() {
        let labels = HashMap::from([
            (WORLD.to_string(), "2".to_string()),
            (TASK_ID.to_string(), "abc".to_string()),
            (CONTAINER_INDEX.to_string(), "1".to_string()),
        ]);
        let (key, index) = task_container(&labels).unwrap();
        assert_eq!((key.world, key.task_id.as_str(), index), (2, "abc", 1));
        let mut pause = labels.clone();
        pause.remove(CONTAINER_INDEX);
        assert!(task_container(&pause).is_none(), "pause containers have no index");
        assert!(task_container(&HashMap::new()).is_none());
    }
}

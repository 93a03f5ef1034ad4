//! A JSON snapshot of a world as its own APIs describe it (`GET /_ecsim/state`): clusters,
//! services, tasks, task definitions and container instances; load balancers, listeners, rules,
//! target groups and target health; CloudWatch alarms and metric series; CodeDeploy applications
//! (with their revisions), groups and deployments; faults.
//!
//! Everything is read through the API handlers' Describe and List operations, so the snapshot
//! says exactly what a client would see; it never changes a resource.

use ecsim_protocol::AwsError;
use serde_json::{Value, json};

use crate::cloudwatch::CloudWatchState;
use crate::engine::Ctx;
use crate::world::World;

fn ecs(world: &mut World, ctx: &mut Ctx<'_>, op: &str, input: Value) -> Result<Value, AwsError> {
    let operation = ecsim_api::ecs::Operation::from_name(op)
        .ok_or_else(|| AwsError::server("InternalError", format!("no ECS operation {op}")))?;
    let mut handler = crate::ecs::EcsHandler { world, ctx };
    ecsim_api::ecs::dispatch(&mut handler, operation, input)
}

fn codedeploy(world: &mut World, ctx: &mut Ctx<'_>, op: &str, input: Value) -> Result<Value, AwsError> {
    let operation = ecsim_api::codedeploy::Operation::from_name(op)
        .ok_or_else(|| AwsError::server("InternalError", format!("no CodeDeploy operation {op}")))?;
    let mut handler = crate::codedeploy::CodeDeployHandler { world, ctx };
    ecsim_api::codedeploy::dispatch(&mut handler, operation, input)
}

/// Applications with their deployment groups, and every deployment with its ECS target.
fn codedeploy_section(world: &mut World, ctx: &mut Ctx<'_>) -> Result<Value, AwsError> {
    let names = all_pages(
        |t| codedeploy(world, ctx, "ListApplications", json!({ "nextToken": t })),
        "applications",
        "nextToken",
    )?;
    let mut applications = Vec::new();
    for name in strings(&names) {
        let groups = all_pages(
            |t| {
                codedeploy(
                    world,
                    ctx,
                    "ListDeploymentGroups",
                    json!({ "applicationName": name, "nextToken": t }),
                )
            },
            "deploymentGroups",
            "nextToken",
        )?;
        let groups = if groups.is_empty() {
            Vec::new()
        } else {
            codedeploy(
                world,
                ctx,
                "BatchGetDeploymentGroups",
                json!({ "applicationName": name, "deploymentGroupNames": groups }),
            )?["deploymentGroupsInfo"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let locations = all_pages(
            |t| {
                codedeploy(
                    world,
                    ctx,
                    "ListApplicationRevisions",
                    json!({ "applicationName": name, "nextToken": t }),
                )
            },
            "revisions",
            "nextToken",
        )?;
        let mut revisions = Vec::new();
        // BatchGetApplicationRevisions reads at most 25 at once.
        for chunk in locations.chunks(25) {
            let infos = codedeploy(
                world,
                ctx,
                "BatchGetApplicationRevisions",
                json!({ "applicationName": name, "revisions": chunk }),
            )?;
            revisions.extend(infos["revisions"].as_array().cloned().unwrap_or_default());
        }
        let app = codedeploy(world, ctx, "GetApplication", json!({ "applicationName": name }))?;
        applications.push(json!({
            "application": app["application"],
            "deploymentGroups": groups,
            "revisions": revisions,
        }));
    }
    let mut deployments = Vec::new();
    for id in crate::codedeploy::deployment_ids(world) {
        let info = codedeploy(world, ctx, "GetDeployment", json!({ "deploymentId": id }))?;
        let targets = codedeploy(world, ctx, "ListDeploymentTargets", json!({ "deploymentId": id }))?;
        let target_ids = targets["targetIds"].clone();
        let target = codedeploy(
            world,
            ctx,
            "BatchGetDeploymentTargets",
            json!({ "deploymentId": id, "targetIds": target_ids }),
        )?;
        deployments.push(json!({
            "deployment": info["deploymentInfo"],
            "targets": target["deploymentTargets"],
        }));
    }
    Ok(json!({ "applications": applications, "deployments": deployments }))
}

fn elbv2(world: &mut World, ctx: &mut Ctx<'_>, op: &str, input: Value) -> Result<Value, AwsError> {
    let operation = ecsim_api::elbv2::Operation::from_name(op)
        .ok_or_else(|| AwsError::server("InternalError", format!("no ELBv2 operation {op}")))?;
    let mut handler = crate::elbv2::Elbv2Handler { world, ctx };
    ecsim_api::elbv2::dispatch(&mut handler, operation, input)
}

/// Every item of a paginated list call: `token_in`/`token_out` name the pagination members.
fn all_pages(
    mut call: impl FnMut(Option<String>) -> Result<Value, AwsError>,
    items: &str,
    token_out: &str,
) -> Result<Vec<Value>, AwsError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = call(token)?;
        out.extend(page[items].as_array().cloned().unwrap_or_default());
        match page[token_out].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

fn strings(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

fn ecs_section(world: &mut World, ctx: &mut Ctx<'_>) -> Result<Value, AwsError> {
    let cluster_arns = strings(&all_pages(
        |t| {
            ecs(
                world,
                ctx,
                "ListClusters",
                json!({ "nextToken": t, "maxResults": 100 }),
            )
        },
        "clusterArns",
        "nextToken",
    )?);
    let mut clusters = Vec::new();
    for chunk in cluster_arns.chunks(100) {
        let d = ecs(
            world,
            ctx,
            "DescribeClusters",
            json!({ "clusters": chunk, "include": ["SETTINGS", "CONFIGURATIONS", "TAGS"] }),
        )?;
        clusters.extend(d["clusters"].as_array().cloned().unwrap_or_default());
    }
    let mut out_clusters = Vec::new();
    for cluster in clusters {
        let arn = cluster["clusterArn"].as_str().unwrap_or_default().to_string();
        let service_arns = strings(&all_pages(
            |t| {
                ecs(
                    world,
                    ctx,
                    "ListServices",
                    json!({ "cluster": arn, "nextToken": t, "maxResults": 100 }),
                )
            },
            "serviceArns",
            "nextToken",
        )?);
        let mut services = Vec::new();
        for chunk in service_arns.chunks(10) {
            let d = ecs(
                world,
                ctx,
                "DescribeServices",
                json!({ "cluster": arn, "services": chunk, "include": ["TAGS"] }),
            )?;
            services.extend(d["services"].as_array().cloned().unwrap_or_default());
        }
        let mut task_arns = Vec::new();
        for desired in ["RUNNING", "STOPPED"] {
            task_arns.extend(strings(&all_pages(
                |t| {
                    ecs(
                        world,
                        ctx,
                        "ListTasks",
                        json!({ "cluster": arn, "desiredStatus": desired, "nextToken": t, "maxResults": 100 }),
                    )
                },
                "taskArns",
                "nextToken",
            )?));
        }
        let mut tasks = Vec::new();
        for chunk in task_arns.chunks(100) {
            let d = ecs(
                world,
                ctx,
                "DescribeTasks",
                json!({ "cluster": arn, "tasks": chunk, "include": ["TAGS"] }),
            )?;
            tasks.extend(d["tasks"].as_array().cloned().unwrap_or_default());
        }
        let instance_arns = strings(&all_pages(
            |t| {
                ecs(
                    world,
                    ctx,
                    "ListContainerInstances",
                    json!({ "cluster": arn, "nextToken": t, "maxResults": 100 }),
                )
            },
            "containerInstanceArns",
            "nextToken",
        )?);
        let mut instances = Vec::new();
        for chunk in instance_arns.chunks(100) {
            let d = ecs(
                world,
                ctx,
                "DescribeContainerInstances",
                json!({ "cluster": arn, "containerInstances": chunk }),
            )?;
            instances.extend(d["containerInstances"].as_array().cloned().unwrap_or_default());
        }
        out_clusters.push(json!({
            "cluster": cluster,
            "services": services,
            "tasks": tasks,
            "containerInstances": instances,
        }));
    }
    let definition_arns = strings(&all_pages(
        |t| {
            ecs(
                world,
                ctx,
                "ListTaskDefinitions",
                json!({ "nextToken": t, "maxResults": 100 }),
            )
        },
        "taskDefinitionArns",
        "nextToken",
    )?);
    let mut definitions = Vec::new();
    for arn in definition_arns {
        let d = ecs(
            world,
            ctx,
            "DescribeTaskDefinition",
            json!({ "taskDefinition": arn }),
        )?;
        definitions.push(d["taskDefinition"].clone());
    }
    Ok(json!({ "clusters": out_clusters, "taskDefinitions": definitions }))
}

fn elbv2_section(world: &mut World, ctx: &mut Ctx<'_>) -> Result<Value, AwsError> {
    let load_balancers = all_pages(
        |t| elbv2(world, ctx, "DescribeLoadBalancers", json!({ "Marker": t })),
        "LoadBalancers",
        "NextMarker",
    )?;
    let mut listeners = Vec::new();
    let mut rules = Vec::new();
    for lb in &load_balancers {
        let arn = lb["LoadBalancerArn"].as_str().unwrap_or_default().to_string();
        let found = all_pages(
            |t| {
                elbv2(
                    world,
                    ctx,
                    "DescribeListeners",
                    json!({ "LoadBalancerArn": arn, "Marker": t }),
                )
            },
            "Listeners",
            "NextMarker",
        )?;
        for listener in &found {
            let listener_arn = listener["ListenerArn"].as_str().unwrap_or_default().to_string();
            rules.extend(all_pages(
                |t| {
                    elbv2(
                        world,
                        ctx,
                        "DescribeRules",
                        json!({ "ListenerArn": listener_arn, "Marker": t }),
                    )
                },
                "Rules",
                "NextMarker",
            )?);
        }
        listeners.extend(found);
    }
    let target_groups = all_pages(
        |t| elbv2(world, ctx, "DescribeTargetGroups", json!({ "Marker": t })),
        "TargetGroups",
        "NextMarker",
    )?;
    let mut target_health = serde_json::Map::new();
    for tg in &target_groups {
        let arn = tg["TargetGroupArn"].as_str().unwrap_or_default().to_string();
        let d = elbv2(
            world,
            ctx,
            "DescribeTargetHealth",
            json!({ "TargetGroupArn": arn }),
        )?;
        target_health.insert(arn, d["TargetHealthDescriptions"].clone());
    }
    Ok(json!({
        "loadBalancers": load_balancers,
        "listeners": listeners,
        "rules": rules,
        "targetGroups": target_groups,
        "targetHealth": target_health,
    }))
}

fn cloudwatch_section(
    state: Option<&CloudWatchState>,
    world: &World,
    ctx: &mut Ctx<'_>,
) -> Result<Value, AwsError> {
    let Some(state) = state else {
        return Ok(json!({ "metricAlarms": [], "compositeAlarms": [], "metricSeries": 0 }));
    };
    // The handler needs a mutable state; describing changes nothing, so a copy of the alarms
    // (not the metric store) is enough.
    let mut copy = CloudWatchState {
        metrics: Default::default(),
        alarms: state.alarms.clone(),
    };
    let mut handler = crate::cloudwatch::CloudWatchHandler {
        state: &mut copy,
        now_ms: ctx.now_ms,
        timers: ctx.timers,
        world_index: ctx.world_index,
        account_id: &world.account_id,
        region: &world.region,
    };
    let mut metric_alarms = Vec::new();
    let mut composite_alarms = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ecsim_api::cloudwatch::dispatch(
            &mut handler,
            ecsim_api::cloudwatch::Operation::DescribeAlarms,
            json!({ "AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 100, "NextToken": token }),
        )?;
        metric_alarms.extend(page["MetricAlarms"].as_array().cloned().unwrap_or_default());
        composite_alarms.extend(page["CompositeAlarms"].as_array().cloned().unwrap_or_default());
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    Ok(json!({
        "metricAlarms": metric_alarms,
        "compositeAlarms": composite_alarms,
        "metricSeries": state.metrics.series_count(),
    }))
}

/// The snapshot of one world.
pub fn world_snapshot(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cloudwatch: Option<&CloudWatchState>,
) -> Result<Value, AwsError> {
    let ecs = ecs_section(world, ctx)?;
    let elbv2 = elbv2_section(world, ctx)?;
    let cloudwatch = cloudwatch_section(cloudwatch, world, ctx)?;
    let codedeploy = codedeploy_section(world, ctx)?;
    let faults: Vec<Value> = world
        .faults
        .records
        .iter()
        .map(|r| crate::faults::view(world, r))
        .collect();
    Ok(json!({
        "accountId": world.account_id,
        "region": world.region,
        "ecs": ecs,
        "elbv2": elbv2,
        "cloudwatch": cloudwatch,
        "codedeploy": codedeploy,
        "faults": faults,
    }))
}

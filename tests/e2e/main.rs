//! End-to-end tests: real aws-sdk-rust clients against an in-process emulator on a loopback port.

mod backends;
mod common;
mod coverage;
mod determinism;
mod docker_load_balancing;
mod docker_runtime;
mod docker_support;
mod ec2;
mod ecs_attributes;
mod ecs_clusters;
mod ecs_deployments;
mod ecs_instances_settings;
mod ecs_load_balancing;
mod ecs_placement;
mod ecs_services;
mod ecs_spread;
mod ecs_task_definitions;
mod ecs_tasks;
mod elbv2_api;
mod elbv2_traffic;
mod protocol;
mod runtime_conformance;
mod sts;

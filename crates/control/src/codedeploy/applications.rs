//! CodeDeploy applications: CreateApplication, GetApplication, BatchGetApplications,
//! ListApplications, UpdateApplication (rename) and DeleteApplication, plus the name check the
//! group and config handlers share.
//!
//! Handlers only change `world.codedeploy`; they never touch ECS or ELBv2 state, and deleting an
//! application leaves its deployments readable (they are history, not configuration).

use ecsim_api::codedeploy as api;
use ecsim_protocol::AwsError;

use super::CodeDeployHandler;
use super::common::{application_does_not_exist, check_name, error, paginate, ts};
use super::state::ApplicationRecord;
use super::tags;

type R<T> = Result<T, AwsError>;

/// AWS quota: applications per account and region.
const MAX_APPLICATIONS: usize = 1_000;
/// Names BatchGetApplications takes at once.
const MAX_BATCH_NAMES: usize = 100;
/// ListApplications page size.
const PAGE_SIZE: usize = 100;

/// Checks an application, deployment group or deployment config name: 1–100 characters from the
/// model's pattern `[A-Za-z0-9+=,.@_-]*`. `kind` picks the exception (`Invalid<kind>NameException`).
/// The protocol layer checks lengths but not patterns, so the characters are checked here.
pub fn check_resource_name(kind: &str, name: &str) -> R<()> {
    check_name(kind, name)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(error(
            &format!("Invalid{kind}NameException"),
            format!(
                "The {kind} name {name} contains '{bad}': names may only contain letters, digits and + = , . @ _ -."
            ),
        ));
    }
    Ok(())
}

fn application_name_required() -> AwsError {
    error(
        "ApplicationNameRequiredException",
        "The minimum number of required application names was not specified.",
    )
}

/// A present, well-formed application name.
fn application_name(name: Option<&str>) -> R<&str> {
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or_else(application_name_required)?;
    check_resource_name("Application", name)?;
    Ok(name)
}

fn render(app: &ApplicationRecord) -> api::ApplicationInfo {
    api::ApplicationInfo {
        application_id: Some(app.id.clone()),
        application_name: Some(app.name.clone()),
        create_time: Some(ts(app.created_at_ms)),
        // ecsim has no GitHub connections.
        linked_to_git_hub: Some(false),
        git_hub_account_name: None,
        compute_platform: Some(app.compute_platform),
    }
}

pub fn create_application(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::CreateApplicationInput,
) -> R<api::CreateApplicationOutput> {
    let name = application_name(Some(&input.application_name))?.to_string();
    if h.world.codedeploy.applications.contains_key(&name) {
        return Err(error(
            "ApplicationAlreadyExistsException",
            format!("An application named {name} already exists."),
        ));
    }
    if h.world.codedeploy.applications.len() >= MAX_APPLICATIONS {
        return Err(error(
            "ApplicationLimitExceededException",
            format!("An account can have at most {MAX_APPLICATIONS} applications in a region."),
        ));
    }
    let added = input.tags.unwrap_or_default();
    tags::validate(&added)?;
    let tags = tags::merged(&Vec::new(), &added)?;
    let id = h.ctx.rng.uuid();
    h.world.codedeploy.applications.insert(
        name.clone(),
        ApplicationRecord {
            id: id.clone(),
            name,
            // The model's default: an application without a platform deploys to servers.
            compute_platform: input.compute_platform.unwrap_or(api::ComputePlatform::Server),
            created_at_ms: h.ctx.now_ms,
            tags,
            revisions: Vec::new(),
        },
    );
    Ok(api::CreateApplicationOutput {
        application_id: Some(id),
    })
}

pub fn get_application(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::GetApplicationInput,
) -> R<api::GetApplicationOutput> {
    let name = application_name(Some(&input.application_name))?;
    let app = h
        .world
        .codedeploy
        .applications
        .get(name)
        .ok_or_else(|| application_does_not_exist(name))?;
    Ok(api::GetApplicationOutput {
        application: Some(render(app)),
    })
}

/// Every name must exist: one unknown name fails the whole call with
/// `ApplicationDoesNotExistException` (the model lists no partial answer for this operation).
pub fn batch_get_applications(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::BatchGetApplicationsInput,
) -> R<api::BatchGetApplicationsOutput> {
    if input.application_names.is_empty() {
        return Err(application_name_required());
    }
    if input.application_names.len() > MAX_BATCH_NAMES {
        return Err(error(
            "BatchLimitExceededException",
            format!("At most {MAX_BATCH_NAMES} application names can be given at once."),
        ));
    }
    let mut infos = Vec::with_capacity(input.application_names.len());
    for name in &input.application_names {
        let name = application_name(Some(name))?;
        let app = h
            .world
            .codedeploy
            .applications
            .get(name)
            .ok_or_else(|| application_does_not_exist(name))?;
        infos.push(render(app));
    }
    Ok(api::BatchGetApplicationsOutput {
        applications_info: Some(infos),
    })
}

/// Names in byte order (the map's order), 100 a page.
pub fn list_applications(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::ListApplicationsInput,
) -> R<api::ListApplicationsOutput> {
    let names: Vec<String> = h.world.codedeploy.applications.keys().cloned().collect();
    let (page, next_token) = paginate(&names, input.next_token.as_deref(), PAGE_SIZE)?;
    Ok(api::ListApplicationsOutput {
        applications: Some(page),
        next_token,
    })
}

/// Renames an application. Its groups and deployments follow the new name, so GetDeployment,
/// ListDeployments and the deployment controller keep finding them.
pub fn update_application(h: &mut CodeDeployHandler<'_, '_>, input: api::UpdateApplicationInput) -> R<()> {
    let current = application_name(input.application_name.as_deref())?.to_string();
    let new = application_name(input.new_application_name.as_deref())?.to_string();
    let state = &mut h.world.codedeploy;
    if !state.applications.contains_key(&current) {
        return Err(application_does_not_exist(&current));
    }
    if new == current {
        return Ok(());
    }
    if state.applications.contains_key(&new) {
        return Err(error(
            "ApplicationAlreadyExistsException",
            format!("An application named {new} already exists."),
        ));
    }
    if let Some(mut app) = state.applications.remove(&current) {
        app.name = new.clone();
        state.applications.insert(new.clone(), app);
    }
    let moved: Vec<(String, String)> = state
        .groups
        .keys()
        .filter(|(application, _)| *application == current)
        .cloned()
        .collect();
    for key in moved {
        if let Some(mut group) = state.groups.remove(&key) {
            group.application = new.clone();
            state.groups.insert((new.clone(), key.1), group);
        }
    }
    for deployment in state.deployments.values_mut() {
        if deployment.application == current {
            deployment.application = new.clone();
        }
    }
    Ok(())
}

/// Deletes an application and its deployment groups. Deployments stay readable. Deleting an
/// application that does not exist succeeds: the model gives DeleteApplication no
/// `ApplicationDoesNotExistException`, and AWS answers it with an empty success.
pub fn delete_application(h: &mut CodeDeployHandler<'_, '_>, input: api::DeleteApplicationInput) -> R<()> {
    let name = application_name(Some(&input.application_name))?.to_string();
    let state = &mut h.world.codedeploy;
    state.applications.remove(&name);
    state.groups.retain(|(application, _), _| *application != name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_model_pattern() {
        assert!(check_resource_name("Application", "web-app_1.v2+x=y,z@a").is_ok());
        let e = check_resource_name("Application", "has space").expect_err("space");
        assert_eq!(e.code, "InvalidApplicationNameException");
        let e = check_resource_name("DeploymentGroup", "slash/group").expect_err("slash");
        assert_eq!(e.code, "InvalidDeploymentGroupNameException");
        let e = check_resource_name("DeploymentConfig", &"x".repeat(101)).expect_err("long");
        assert_eq!(e.code, "InvalidDeploymentConfigNameException");
    }
}

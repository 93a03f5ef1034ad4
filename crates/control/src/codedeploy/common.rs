//! Errors, ARNs, timestamps and pagination shared by the CodeDeploy handlers, with AWS's wording.

use ecsim_core::Millis;
use ecsim_protocol::AwsError;

use crate::world::World;

/// A CodeDeploy client error: its code is the exception shape's name.
pub fn error(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::client(code, message)
}

pub fn application_does_not_exist(name: &str) -> AwsError {
    error(
        "ApplicationDoesNotExistException",
        format!("No application found for name: {name}"),
    )
}

pub fn group_does_not_exist(application: &str, group: &str) -> AwsError {
    error(
        "DeploymentGroupDoesNotExistException",
        format!("No Deployment Group found for name: {group} in application {application}"),
    )
}

pub fn deployment_does_not_exist(id: &str) -> AwsError {
    error(
        "DeploymentDoesNotExistException",
        format!("Deployment {id} does not exist"),
    )
}

pub fn config_does_not_exist(name: &str) -> AwsError {
    error(
        "DeploymentConfigDoesNotExistException",
        format!("No deployment configuration found for name: {name}"),
    )
}

/// Epoch seconds for an API timestamp.
pub fn ts(at_ms: Millis) -> f64 {
    ecsim_core::clock::epoch_seconds(at_ms)
}

pub fn application_arn(world: &World, name: &str) -> String {
    world.arn("codedeploy", &format!("application:{name}"))
}

pub fn group_arn(world: &World, application: &str, group: &str) -> String {
    world.arn("codedeploy", &format!("deploymentgroup:{application}/{group}"))
}

pub fn config_arn(world: &World, name: &str) -> String {
    world.arn("codedeploy", &format!("deploymentconfig:{name}"))
}

/// One page of `items` after the opaque `next_token` (the index to start at), at most
/// `page_size`; the token for the next page when more remain.
pub fn paginate<T: Clone>(
    items: &[T],
    next_token: Option<&str>,
    page_size: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let start = match next_token {
        None | Some("") => 0,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|i| *i <= items.len())
            .ok_or_else(|| error("InvalidNextTokenException", "The next token is invalid."))?,
    };
    let end = (start + page_size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

/// Names are 1–100 characters (applications, groups, configs).
pub fn check_name(kind: &str, name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.chars().count() > 100 {
        return Err(error(
            &format!("Invalid{kind}NameException"),
            format!("The {kind} name must be 1 to 100 characters long."),
        ));
    }
    Ok(())
}

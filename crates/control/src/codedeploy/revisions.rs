//! Application revisions: the registry that RegisterApplicationRevision fills and every deployment
//! adds to (first and last use), read by GetApplicationRevision, BatchGetApplicationRevisions and
//! ListApplicationRevisions.
//!
//! A revision is its location: S3 (bucket, key, bundle type, version, ETag), GitHub (repository,
//! commit) or an inline AppSpec (`String` or `AppSpecContent`, by content). Nothing is fetched, so
//! S3 and GitHub revisions can be registered and read back although ecsim cannot deploy them.
//! `deploymentGroups` lists the groups whose target revision (their last successful deployment's)
//! it is, which is also what `deployed` filters on.

use ecsim_api::codedeploy as api;
use ecsim_core::Millis;
use ecsim_protocol::AwsError;

use super::CodeDeployHandler;
use super::applications::check_resource_name;
use super::common::{application_does_not_exist, error, paginate, ts};
use crate::world::World;

type R<T> = Result<T, AwsError>;

const PAGE_SIZE: usize = 100;
/// BatchGetApplicationRevisions reads at most 25 revisions.
const MAX_BATCH: usize = 25;
const MAX_DESCRIPTION_CHARS: usize = 100;

/// One revision of an application.
#[derive(Debug, Clone)]
pub struct RevisionRecord {
    pub location: api::RevisionLocation,
    pub description: Option<String>,
    pub registered_at_ms: Millis,
    pub first_used_ms: Option<Millis>,
    pub last_used_ms: Option<Millis>,
}

/// What identifies a revision: its type and location, not the optional extras (an AppSpec's
/// `sha256` or a description).
fn identity(location: &api::RevisionLocation) -> Option<String> {
    let field = |v: &Option<String>| v.clone().unwrap_or_default();
    match location.revision_type? {
        api::RevisionLocationType::S3 => {
            let s3 = location.s3_location.as_ref()?;
            Some(format!(
                "s3\0{}\0{}\0{}\0{}\0{}",
                field(&s3.bucket),
                field(&s3.key),
                s3.bundle_type.map(|b| b.as_str()).unwrap_or_default(),
                field(&s3.version),
                field(&s3.e_tag)
            ))
        }
        api::RevisionLocationType::GitHub => {
            let gh = location.git_hub_location.as_ref()?;
            Some(format!(
                "github\0{}\0{}",
                field(&gh.repository),
                field(&gh.commit_id)
            ))
        }
        api::RevisionLocationType::String => {
            Some(format!("string\0{}", field(&location.string.as_ref()?.content)))
        }
        api::RevisionLocationType::AppSpecContent => Some(format!(
            "appspec\0{}",
            field(&location.app_spec_content.as_ref()?.content)
        )),
    }
}

/// A revision location with what its type needs, as the API requires.
fn check_location(location: &api::RevisionLocation) -> R<String> {
    let invalid = |message: &str| error("InvalidRevisionException", message);
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    let Some(kind) = location.revision_type else {
        return Err(error(
            "RevisionRequiredException",
            "The revision ID was not specified.",
        ));
    };
    let complete = match kind {
        api::RevisionLocationType::S3 => location
            .s3_location
            .as_ref()
            .is_some_and(|s| present(&s.bucket) && present(&s.key)),
        api::RevisionLocationType::GitHub => location
            .git_hub_location
            .as_ref()
            .is_some_and(|g| present(&g.repository) && present(&g.commit_id)),
        api::RevisionLocationType::String => location.string.as_ref().is_some_and(|s| present(&s.content)),
        api::RevisionLocationType::AppSpecContent => location
            .app_spec_content
            .as_ref()
            .is_some_and(|s| present(&s.content)),
    };
    if !complete {
        return Err(invalid(match kind {
            api::RevisionLocationType::S3 => "An S3 revision needs a bucket and a key.",
            api::RevisionLocationType::GitHub => "A GitHub revision needs a repository and a commit ID.",
            _ => "The revision's content is missing.",
        }));
    }
    identity(location).ok_or_else(|| invalid("The revision location is incomplete."))
}

fn application<'w>(world: &'w World, name: &str) -> R<&'w super::state::ApplicationRecord> {
    if name.is_empty() {
        return Err(error(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        ));
    }
    check_resource_name("Application", name)?;
    world
        .codedeploy
        .applications
        .get(name)
        .ok_or_else(|| application_does_not_exist(name))
}

/// Groups of `application` whose target revision is `key`.
fn groups_targeting(world: &World, application: &str, key: &str) -> Vec<String> {
    world
        .codedeploy
        .groups
        .iter()
        .filter(|((app, _), g)| {
            app == application && g.target_revision.as_ref().and_then(identity).as_deref() == Some(key)
        })
        .map(|((_, name), _)| name.clone())
        .collect()
}

fn info(world: &World, application: &str, r: &RevisionRecord) -> api::GenericRevisionInfo {
    let key = identity(&r.location).unwrap_or_default();
    api::GenericRevisionInfo {
        description: r.description.clone(),
        deployment_groups: Some(groups_targeting(world, application, &key)),
        first_used_time: r.first_used_ms.map(ts),
        last_used_time: r.last_used_ms.map(ts),
        register_time: Some(ts(r.registered_at_ms)),
    }
}

/// Records that a deployment of `application` uses `location` now: registered on first use.
pub fn note_use(world: &mut World, application: &str, location: &api::RevisionLocation, now_ms: Millis) {
    let Some(key) = identity(location) else {
        return;
    };
    let Some(app) = world.codedeploy.applications.get_mut(application) else {
        return;
    };
    match app
        .revisions
        .iter_mut()
        .find(|r| identity(&r.location).as_deref() == Some(key.as_str()))
    {
        Some(r) => {
            r.first_used_ms.get_or_insert(now_ms);
            r.last_used_ms = Some(now_ms);
        }
        None => app.revisions.push(RevisionRecord {
            location: location.clone(),
            description: None,
            registered_at_ms: now_ms,
            first_used_ms: Some(now_ms),
            last_used_ms: Some(now_ms),
        }),
    }
}

/// Registering a known revision again updates its description (and keeps its times).
pub fn register_application_revision(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::RegisterApplicationRevisionInput,
) -> R<()> {
    application(h.world, &input.application_name)?;
    let key = check_location(&input.revision)?;
    if input
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(error(
            "DescriptionTooLongException",
            format!("The description is longer than {MAX_DESCRIPTION_CHARS} characters."),
        ));
    }
    let now = h.ctx.now_ms;
    let Some(app) = h.world.codedeploy.applications.get_mut(&input.application_name) else {
        return Err(application_does_not_exist(&input.application_name));
    };
    match app
        .revisions
        .iter_mut()
        .find(|r| identity(&r.location).as_deref() == Some(key.as_str()))
    {
        Some(r) => {
            if input.description.is_some() {
                r.description = input.description;
            }
        }
        None => app.revisions.push(RevisionRecord {
            location: input.revision,
            description: input.description,
            registered_at_ms: now,
            first_used_ms: None,
            last_used_ms: None,
        }),
    }
    Ok(())
}

fn find<'a>(app: &'a super::state::ApplicationRecord, key: &str) -> Option<&'a RevisionRecord> {
    app.revisions
        .iter()
        .find(|r| identity(&r.location).as_deref() == Some(key))
}

pub fn get_application_revision(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::GetApplicationRevisionInput,
) -> R<api::GetApplicationRevisionOutput> {
    let app = application(h.world, &input.application_name)?;
    let key = check_location(&input.revision)?;
    let r = find(app, &key).ok_or_else(|| {
        error(
            "RevisionDoesNotExistException",
            format!(
                "The revision does not exist in application {}.",
                input.application_name
            ),
        )
    })?;
    Ok(api::GetApplicationRevisionOutput {
        application_name: Some(input.application_name.clone()),
        revision: Some(r.location.clone()),
        revision_info: Some(info(h.world, &input.application_name, r)),
    })
}

/// Revisions the application does not know are left out and named in `errorMessage`.
pub fn batch_get_application_revisions(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::BatchGetApplicationRevisionsInput,
) -> R<api::BatchGetApplicationRevisionsOutput> {
    let app = application(h.world, &input.application_name)?;
    if input.revisions.is_empty() {
        return Err(error(
            "RevisionRequiredException",
            "The revision ID was not specified.",
        ));
    }
    if input.revisions.len() > MAX_BATCH {
        return Err(error(
            "BatchLimitExceededException",
            format!("At most {MAX_BATCH} revisions can be read at once."),
        ));
    }
    let mut found = Vec::new();
    let mut missing = 0_usize;
    for location in &input.revisions {
        let key = check_location(location)?;
        match find(app, &key) {
            Some(r) => found.push(api::RevisionInfo {
                revision_location: Some(r.location.clone()),
                generic_revision_info: Some(info(h.world, &input.application_name, r)),
            }),
            None => missing += 1,
        }
    }
    Ok(api::BatchGetApplicationRevisionsOutput {
        application_name: Some(input.application_name.clone()),
        error_message: (missing > 0).then(|| {
            format!(
                "{missing} of the revisions do not exist in application {}.",
                input.application_name
            )
        }),
        revisions: Some(found),
    })
}

/// Filters S3 revisions by bucket and key prefix, any revision by whether it is a group's
/// target (`deployed`); sorts by the time asked for (revisions never used sort first
/// ascending), else in registration order.
pub fn list_application_revisions(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::ListApplicationRevisionsInput,
) -> R<api::ListApplicationRevisionsOutput> {
    let app = application(h.world, &input.application_name)?;
    if input.s3_key_prefix.is_some() && input.s3_bucket.is_none() {
        return Err(error(
            "BucketNameFilterRequiredException",
            "A bucket name is required when a key prefix is given.",
        ));
    }
    let deployed = input.deployed.unwrap_or(api::ListStateFilterAction::Ignore);
    let mut rows: Vec<&RevisionRecord> = app
        .revisions
        .iter()
        .filter(|r| {
            let Some(bucket) = &input.s3_bucket else {
                return true;
            };
            r.location.s3_location.as_ref().is_some_and(|s| {
                s.bucket.as_ref() == Some(bucket)
                    && input
                        .s3_key_prefix
                        .as_deref()
                        .is_none_or(|p| s.key.as_deref().unwrap_or_default().starts_with(p))
            })
        })
        .filter(|r| {
            let key = identity(&r.location).unwrap_or_default();
            let targeted = !groups_targeting(h.world, &input.application_name, &key).is_empty();
            match deployed {
                api::ListStateFilterAction::Include => targeted,
                api::ListStateFilterAction::Exclude => !targeted,
                api::ListStateFilterAction::Ignore => true,
            }
        })
        .collect();
    if let Some(sort_by) = input.sort_by {
        rows.sort_by_key(|r| match sort_by {
            api::ApplicationRevisionSortBy::RegisterTime => Some(r.registered_at_ms),
            api::ApplicationRevisionSortBy::FirstUsedTime => r.first_used_ms,
            api::ApplicationRevisionSortBy::LastUsedTime => r.last_used_ms,
        });
    }
    if input.sort_order == Some(api::SortOrder::Descending) {
        rows.reverse();
    }
    let locations: Vec<api::RevisionLocation> = rows.into_iter().map(|r| r.location.clone()).collect();
    let (page, next_token) = paginate(&locations, input.next_token.as_deref(), PAGE_SIZE)?;
    Ok(api::ListApplicationRevisionsOutput {
        revisions: Some(page),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appspec(content: &str, sha: Option<&str>) -> api::RevisionLocation {
        api::RevisionLocation {
            revision_type: Some(api::RevisionLocationType::AppSpecContent),
            app_spec_content: Some(api::AppSpecContent {
                content: Some(content.to_string()),
                sha256: sha.map(str::to_string),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_revision_is_its_type_and_location() {
        assert_eq!(
            identity(&appspec("a", None)),
            identity(&appspec("a", Some("abc"))),
            "the sha256 does not make another revision"
        );
        assert_ne!(identity(&appspec("a", None)), identity(&appspec("b", None)));
        let string = api::RevisionLocation {
            revision_type: Some(api::RevisionLocationType::String),
            string: Some(api::RawString {
                content: Some("a".into()),
                sha256: None,
            }),
            ..Default::default()
        };
        assert_ne!(identity(&string), identity(&appspec("a", None)));
    }

    #[test]
    fn locations_need_what_their_type_names() {
        let s3 = |bucket: Option<&str>, key: Option<&str>| api::RevisionLocation {
            revision_type: Some(api::RevisionLocationType::S3),
            s3_location: Some(api::S3Location {
                bucket: bucket.map(str::to_string),
                key: key.map(str::to_string),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(check_location(&s3(Some("b"), Some("k.zip"))).is_ok());
        let e = check_location(&s3(Some("b"), None)).unwrap_err();
        assert_eq!(e.code, "InvalidRevisionException");
        let e = check_location(&api::RevisionLocation::default()).unwrap_err();
        assert_eq!(e.code, "RevisionRequiredException");
        let e = check_location(&appspec("", None)).unwrap_err();
        assert_eq!(e.code, "InvalidRevisionException");
    }
}

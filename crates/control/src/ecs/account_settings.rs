//! ECS account settings: values set for a principal, account-wide defaults, and the effective
//! value of every setting. Bookkeeping only: changing a setting here changes nothing else in the
//! world; handlers that honour a setting (CreateCluster's `containerInsights`) read
//! [`effective_value`].

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{self, invalid_parameter};
use super::state::EcsState;
use crate::world::World;

type R<T> = Result<T, AwsError>;
use api::SettingName as N;

/// The emulator's value of a setting nobody has set, chosen to match a new AWS account today:
/// long ARN formats `enabled`, `awsvpcTrunking` `disabled`, `containerInsights` `disabled`,
/// `fargateFIPSMode` `disabled`, `tagResourceAuthorization` `on`, `fargateTaskRetirementWaitPeriod`
/// `7` (days), `guardDutyActivate` `off`, `defaultLogDriverMode` `non-blocking` (the AWS default
/// since June 2025), `fargateEventWindows` `disabled`.
pub fn builtin_default(name: N) -> &'static str {
    match name {
        N::ServiceLongArnFormat | N::TaskLongArnFormat | N::ContainerInstanceLongArnFormat => "enabled",
        N::AwsvpcTrunking | N::ContainerInsights | N::FargateFipsMode | N::FargateEventWindows => "disabled",
        N::TagResourceAuthorization => "on",
        N::FargateTaskRetirementWaitPeriod => "7",
        N::GuardDutyActivate => "off",
        N::DefaultLogDriverMode => "non-blocking",
    }
}

/// The values a setting accepts. The long ARN settings still accept `disabled` (the emulator
/// always issues long ARNs; the value is only recorded).
fn allowed_values(name: N) -> &'static [&'static str] {
    match name {
        N::ContainerInsights => &["enabled", "disabled", "enhanced"],
        N::TagResourceAuthorization | N::GuardDutyActivate => &["on", "off"],
        N::FargateTaskRetirementWaitPeriod => &["0", "7", "14"],
        N::DefaultLogDriverMode => &["blocking", "non-blocking"],
        N::ServiceLongArnFormat
        | N::TaskLongArnFormat
        | N::ContainerInstanceLongArnFormat
        | N::AwsvpcTrunking
        | N::FargateFipsMode
        | N::FargateEventWindows => &["enabled", "disabled"],
    }
}

/// `guardDutyActivate` is the one AWS-managed (read-only) setting.
fn setting_type(name: N) -> api::SettingType {
    if name == N::GuardDutyActivate {
        api::SettingType::AwsManaged
    } else {
        api::SettingType::User
    }
}

/// Every setting name, in name order.
fn all_names() -> Vec<N> {
    let mut names: Vec<N> = N::VALUES.iter().filter_map(|v| v.parse().ok()).collect();
    names.sort_by_key(|n| n.as_str());
    names
}

/// What a principal sees for a setting: its own value, else the root user's, else the account
/// default, else the built-in default.
pub fn effective_value(world: &World, principal_arn: &str, name: N) -> String {
    let root = common::root_principal_arn(world);
    explicit_value(&world.ecs, principal_arn, &root, name)
        .or_else(|| explicit_value(&world.ecs, &root, &root, name))
        .unwrap_or_else(|| builtin_default(name).to_string())
}

/// A value set for exactly this principal; for the root user, account defaults count as set.
fn explicit_value(ecs: &EcsState, principal_arn: &str, root: &str, name: N) -> Option<String> {
    let own = ecs
        .account_settings
        .get(principal_arn)
        .and_then(|m| m.get(name.as_str()))
        .cloned();
    if principal_arn == root {
        own.or_else(|| ecs.account_setting_defaults.get(name.as_str()).cloned())
    } else {
        own
    }
}

fn setting(name: N, value: String, principal_arn: String) -> api::Setting {
    api::Setting {
        name: Some(name),
        value: Some(value),
        principal_arn: Some(principal_arn),
        r#type: Some(setting_type(name)),
    }
}

/// The principal a request means (`principalArn`, default the account's root user), checked to
/// be an IAM or STS principal of this account.
fn principal(world: &World, given: Option<String>) -> R<String> {
    let Some(arn) = given.filter(|a| !a.is_empty()) else {
        return Ok(common::root_principal_arn(world));
    };
    let ours = [
        format!("arn:aws:iam::{}:", world.account_id),
        format!("arn:aws:sts::{}:", world.account_id),
    ];
    if ours
        .iter()
        .any(|p| arn.strip_prefix(p.as_str()).is_some_and(|rest| !rest.is_empty()))
    {
        Ok(arn)
    } else {
        Err(invalid_parameter(format!(
            "The specified principalArn '{arn}' is not a valid principal of this account."
        )))
    }
}

fn check_writable(name: N) -> R<()> {
    if setting_type(name) == api::SettingType::AwsManaged {
        return Err(invalid_parameter(format!(
            "The {name} account setting is managed by AWS and cannot be changed."
        )));
    }
    Ok(())
}

fn check_value(name: N, value: &str) -> R<()> {
    let allowed = allowed_values(name);
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid_parameter(format!(
            "Invalid value '{value}' for the {name} account setting. Valid values are: {}.",
            allowed.join(", ")
        )))
    }
}

/// `fargateTaskRetirementWaitPeriod` and `fargateFIPSMode` can only be set by the root user.
fn check_root_only(world: &World, name: N, principal_arn: &str) -> R<()> {
    if matches!(name, N::FargateTaskRetirementWaitPeriod | N::FargateFipsMode)
        && principal_arn != common::root_principal_arn(world)
    {
        return Err(invalid_parameter(format!(
            "The {name} account setting can only be set for the root user."
        )));
    }
    Ok(())
}

pub fn put_account_setting(
    h: &mut EcsHandler<'_, '_>,
    input: api::PutAccountSettingRequest,
) -> R<api::PutAccountSettingResponse> {
    check_writable(input.name)?;
    check_value(input.name, &input.value)?;
    let principal_arn = principal(h.world, input.principal_arn)?;
    check_root_only(h.world, input.name, &principal_arn)?;
    h.world
        .ecs
        .account_settings
        .entry(principal_arn.clone())
        .or_default()
        .insert(input.name.as_str().to_string(), input.value.clone());
    Ok(api::PutAccountSettingResponse {
        setting: Some(setting(input.name, input.value, principal_arn)),
    })
}

pub fn put_account_setting_default(
    h: &mut EcsHandler<'_, '_>,
    input: api::PutAccountSettingDefaultRequest,
) -> R<api::PutAccountSettingDefaultResponse> {
    check_writable(input.name)?;
    check_value(input.name, &input.value)?;
    h.world
        .ecs
        .account_setting_defaults
        .insert(input.name.as_str().to_string(), input.value.clone());
    let root = common::root_principal_arn(h.world);
    Ok(api::PutAccountSettingDefaultResponse {
        setting: Some(setting(input.name, input.value, root)),
    })
}

/// Removes a principal's own value. Deleting a value that was never set succeeds and changes
/// nothing (emulator decision); the response carries the value removed, or the effective one.
pub fn delete_account_setting(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeleteAccountSettingRequest,
) -> R<api::DeleteAccountSettingResponse> {
    check_writable(input.name)?;
    let principal_arn = principal(h.world, input.principal_arn)?;
    let removed = h
        .world
        .ecs
        .account_settings
        .get_mut(&principal_arn)
        .and_then(|m| m.remove(input.name.as_str()));
    if h.world
        .ecs
        .account_settings
        .get(&principal_arn)
        .is_some_and(|m| m.is_empty())
    {
        h.world.ecs.account_settings.remove(&principal_arn);
    }
    let value = removed.unwrap_or_else(|| effective_value(h.world, &principal_arn, input.name));
    Ok(api::DeleteAccountSettingResponse {
        setting: Some(setting(input.name, value, principal_arn)),
    })
}

/// Lists a principal's settings: with `effectiveSettings` every setting with its effective value
/// (attributed to the principal when it set it, else to the root user), otherwise only the
/// values set for that principal. Pages of 1–10 (default 10), in name order.
pub fn list_account_settings(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListAccountSettingsRequest,
) -> R<api::ListAccountSettingsResponse> {
    if input.value.is_some() && input.name.is_none() {
        return Err(invalid_parameter(
            "The value filter can only be used together with a setting name.",
        ));
    }
    let principal_arn = principal(h.world, input.principal_arn)?;
    let root = common::root_principal_arn(h.world);
    let effective = input.effective_settings.unwrap_or(false);
    let mut items = Vec::new();
    for name in all_names()
        .into_iter()
        .filter(|n| input.name.is_none_or(|wanted| wanted == *n))
    {
        let own = explicit_value(&h.world.ecs, &principal_arn, &root, name);
        let (value, from) = match own {
            Some(v) => (v, principal_arn.clone()),
            None if effective => (effective_value(h.world, &principal_arn, name), root.clone()),
            None => continue,
        };
        if input.value.as_ref().is_some_and(|wanted| *wanted != value) {
            continue;
        }
        items.push((name.as_str().to_string(), setting(name, value, from)));
    }
    let (settings, next_token) =
        common::paginate(&items, input.next_token.as_deref(), input.max_results, 10, 10)?;
    Ok(api::ListAccountSettingsResponse {
        settings: Some(settings),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::clusters::testkit::Env;

    const ROOT: &str = "arn:aws:iam::000000000000:root";
    const ROLE: &str = "arn:aws:iam::000000000000:role/deployer";

    fn put(env: &mut Env, name: N, value: &str, principal: Option<&str>) -> R<api::Setting> {
        env.call(|h| {
            put_account_setting(
                h,
                api::PutAccountSettingRequest {
                    name,
                    value: value.into(),
                    principal_arn: principal.map(Into::into),
                },
            )
        })
        .map(|r| r.setting.unwrap())
    }

    fn list(env: &mut Env, input: api::ListAccountSettingsRequest) -> R<api::ListAccountSettingsResponse> {
        env.call(|h| list_account_settings(h, input))
    }

    #[test]
    fn put_defaults_to_root_and_validates_values() {
        let mut env = Env::new();
        let s = put(&mut env, N::ContainerInsights, "enhanced", None).unwrap();
        assert_eq!(s.principal_arn.as_deref(), Some(ROOT));
        assert_eq!(s.r#type, Some(api::SettingType::User));
        assert_eq!(
            effective_value(&env.world, ROLE, N::ContainerInsights),
            "enhanced"
        );
        for (name, bad) in [
            (N::ContainerInsights, "on"),
            (N::FargateTaskRetirementWaitPeriod, "3"),
            (N::DefaultLogDriverMode, "enabled"),
            (N::TagResourceAuthorization, "enabled"),
            (N::AwsvpcTrunking, "enhanced"),
        ] {
            assert_eq!(
                put(&mut env, name, bad, None).unwrap_err().code,
                "InvalidParameterException",
                "{name}"
            );
        }
        assert_eq!(
            put(&mut env, N::FargateTaskRetirementWaitPeriod, "14", None)
                .unwrap()
                .value
                .as_deref(),
            Some("14")
        );
        assert_eq!(
            put(&mut env, N::DefaultLogDriverMode, "blocking", None)
                .unwrap()
                .value
                .as_deref(),
            Some("blocking")
        );
    }

    #[test]
    fn read_only_root_only_and_foreign_principals_are_refused() {
        let mut env = Env::new();
        assert_eq!(
            put(&mut env, N::GuardDutyActivate, "on", None).unwrap_err().code,
            "InvalidParameterException"
        );
        let e = put(&mut env, N::FargateTaskRetirementWaitPeriod, "0", Some(ROLE)).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        let e = put(
            &mut env,
            N::AwsvpcTrunking,
            "enabled",
            Some("arn:aws:iam::111111111111:root"),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert!(put(&mut env, N::AwsvpcTrunking, "enabled", Some(ROLE)).is_ok());
    }

    #[test]
    fn principal_value_overrides_root_then_default_then_builtin() {
        let mut env = Env::new();
        assert_eq!(effective_value(&env.world, ROLE, N::AwsvpcTrunking), "disabled");
        env.call(|h| {
            put_account_setting_default(
                h,
                api::PutAccountSettingDefaultRequest {
                    name: N::AwsvpcTrunking,
                    value: "enabled".into(),
                },
            )
        })
        .unwrap();
        assert_eq!(effective_value(&env.world, ROLE, N::AwsvpcTrunking), "enabled");
        put(&mut env, N::AwsvpcTrunking, "disabled", Some(ROLE)).unwrap();
        assert_eq!(effective_value(&env.world, ROLE, N::AwsvpcTrunking), "disabled");
        let deleted = env
            .call(|h| {
                delete_account_setting(
                    h,
                    api::DeleteAccountSettingRequest {
                        name: N::AwsvpcTrunking,
                        principal_arn: Some(ROLE.into()),
                    },
                )
            })
            .unwrap();
        assert_eq!(deleted.setting.unwrap().value.as_deref(), Some("disabled"));
        assert_eq!(effective_value(&env.world, ROLE, N::AwsvpcTrunking), "enabled");
        assert!(!env.world.ecs.account_settings.contains_key(ROLE));
    }

    #[test]
    fn list_explicit_effective_filters_and_pages() {
        let mut env = Env::new();
        let none = list(&mut env, api::ListAccountSettingsRequest::default()).unwrap();
        assert_eq!(none.settings.unwrap().len(), 0);
        put(&mut env, N::ContainerInsights, "enabled", None).unwrap();
        let explicit = list(&mut env, api::ListAccountSettingsRequest::default())
            .unwrap()
            .settings
            .unwrap();
        assert_eq!(explicit.len(), 1);

        let mut all = Vec::new();
        let mut token = None;
        loop {
            let page = list(
                &mut env,
                api::ListAccountSettingsRequest {
                    effective_settings: Some(true),
                    max_results: Some(4),
                    next_token: token.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
            all.extend(page.settings.unwrap());
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(all.len(), N::VALUES.len());
        let names: Vec<&str> = all.iter().map(|s| s.name.unwrap().as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        let guard = all.iter().find(|s| s.name == Some(N::GuardDutyActivate)).unwrap();
        assert_eq!(guard.r#type, Some(api::SettingType::AwsManaged));
        assert_eq!(guard.value.as_deref(), Some("off"));
        let retire = all
            .iter()
            .find(|s| s.name == Some(N::FargateTaskRetirementWaitPeriod))
            .unwrap();
        assert_eq!(retire.value.as_deref(), Some("7"));

        let filtered = list(
            &mut env,
            api::ListAccountSettingsRequest {
                name: Some(N::ContainerInsights),
                value: Some("disabled".into()),
                effective_settings: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(filtered.settings.unwrap().is_empty());
        let bad = list(
            &mut env,
            api::ListAccountSettingsRequest {
                value: Some("x".into()),
                ..Default::default()
            },
        );
        assert_eq!(bad.unwrap_err().code, "InvalidParameterException");
        let bad = list(
            &mut env,
            api::ListAccountSettingsRequest {
                max_results: Some(11),
                ..Default::default()
            },
        );
        assert_eq!(bad.unwrap_err().code, "InvalidParameterException");
    }
}

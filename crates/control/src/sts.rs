//! STS: who the caller is, and temporary keys from AssumeRole and GetSessionToken.
//!
//! Keys issued here are recorded in [`Sessions`] so the engine resolves later calls made with them
//! to the right account and identity. There is no IAM behind it: any well-formed role ARN can be
//! assumed, policies are accepted and not evaluated, and secrets are never checked.

use std::collections::BTreeMap;

use ecsim_api::sts as api;
use ecsim_api::sts::StsApi;
use ecsim_core::{Millis, Rng};
use ecsim_protocol::AwsError;

use crate::engine::{Ctx, Principal};

/// A temporary key issued by AssumeRole or GetSessionToken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub access_key_id: String,
    /// The account calls with this key act in.
    pub account_id: String,
    /// The assumed role's ARN; for GetSessionToken keys, the caller's own identity ARN.
    pub role_arn: String,
    /// The role session name (empty for GetSessionToken keys).
    pub session_name: String,
    /// The role's unique id (`AROA…`); for GetSessionToken keys, the caller's user id.
    pub role_id: String,
    pub expires_at_ms: u64,
}

impl Session {
    pub fn is_expired(&self, now_ms: Millis) -> bool {
        now_ms >= self.expires_at_ms
    }

    /// `(UserId, Arn)` as GetCallerIdentity reports them for calls made with this key.
    pub fn identity(&self) -> (String, String) {
        match parse_role_arn(&self.role_arn) {
            Some((_, role_name)) => (
                format!("{}:{}", self.role_id, self.session_name),
                format!(
                    "arn:aws:sts::{}:assumed-role/{role_name}/{}",
                    self.account_id, self.session_name
                ),
            ),
            None => (self.role_id.clone(), self.role_arn.clone()),
        }
    }
}

/// Every temporary key issued by this engine, and the stable unique id of every role assumed.
#[derive(Debug, Default, Clone)]
pub struct Sessions {
    by_key: BTreeMap<String, Session>,
    role_ids: BTreeMap<String, String>,
}

impl Sessions {
    pub fn get(&self, access_key_id: &str) -> Option<&Session> {
        self.by_key.get(access_key_id)
    }

    pub fn insert(&mut self, session: Session) {
        self.by_key.insert(session.access_key_id.clone(), session);
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The unique id of a role (`AROA` and 17 characters), drawn once per role ARN so every
    /// session of a role shows the same id, as IAM does.
    fn role_id(&mut self, role_arn: &str, rng: &mut Rng) -> String {
        self.role_ids
            .entry(role_arn.to_string())
            .or_insert_with(|| format!("AROA{}", rng.string_from(UPPER, 17)))
            .clone()
    }
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The access key shown as UserId when a call carries none.
const ANONYMOUS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// `(account, role name)` of `arn:<partition>:iam::<12 digits>:role/<path/>name`.
fn parse_role_arn(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return None;
    };
    let well_formed = *prefix == "arn"
        && (*partition == "aws" || partition.starts_with("aws-"))
        && *service == "iam"
        && region.is_empty()
        && ecsim_core::ids::is_account_id(account);
    if !well_formed {
        return None;
    }
    let path_and_name = resource.strip_prefix("role/")?;
    let name_char = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    let segments: Vec<&str> = path_and_name.split('/').collect();
    let name = *segments.last()?;
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && segments.iter().all(|s| !s.is_empty() && s.chars().all(name_char));
    ok.then(|| ((*account).to_string(), name.to_string()))
}

fn validation(message: impl Into<String>) -> AwsError {
    AwsError::client("ValidationError", message)
}

/// The STS handler for one call.
pub struct StsHandler<'a, 'b> {
    pub principal: &'a Principal,
    pub sessions: &'a mut Sessions,
    pub ctx: &'a mut Ctx<'b>,
}

impl StsHandler<'_, '_> {
    /// `(UserId, Arn)` of the caller: the assumed role for session keys, else the account root.
    fn identity(&self) -> (String, String) {
        if let Some(session) = &self.principal.session {
            return session.identity();
        }
        let key = &self.principal.access_key_id;
        let user_id = if key.is_empty() {
            ANONYMOUS_KEY.to_string()
        } else {
            key.clone()
        };
        (
            user_id,
            format!("arn:aws:iam::{}:root", self.principal.account_id),
        )
    }

    /// A fresh `ASIA…` key valid for `duration_s` seconds from now.
    fn credentials(&mut self, duration_s: i32) -> api::Credentials {
        let rng = &mut *self.ctx.rng;
        let expires_at_ms = self.ctx.now_ms + u64::try_from(duration_s).unwrap_or(0) * 1000;
        api::Credentials {
            access_key_id: format!("ASIA{}", rng.string_from(UPPER, 16)),
            secret_access_key: rng.string_from(SECRET, 40),
            session_token: rng.string_from(SECRET, 256),
            expiration: ms_to_seconds(expires_at_ms),
        }
    }

    fn record(
        &mut self,
        creds: &api::Credentials,
        account_id: String,
        role_arn: String,
        session_name: String,
        role_id: String,
    ) {
        self.sessions.insert(Session {
            access_key_id: creds.access_key_id.clone(),
            account_id,
            role_arn,
            session_name,
            role_id,
            expires_at_ms: ecsim_core::clock::epoch_ms(creds.expiration),
        });
    }
}

/// Temporary credentials for an ECS task role, as the task credentials endpoint hands them out:
/// an assumed-role session named after the task, recorded so calls made with it resolve to the
/// role. `None` when the role ARN is not a well-formed IAM role ARN.
pub fn issue_task_role_credentials(
    sessions: &mut Sessions,
    rng: &mut Rng,
    now_ms: Millis,
    role_arn: &str,
    task_id: &str,
) -> Option<api::Credentials> {
    let (account_id, _) = parse_role_arn(role_arn)?;
    const TASK_CREDENTIALS_SECONDS: u64 = 6 * 3600;
    let role_id = sessions.role_id(role_arn, rng);
    let expires_at_ms = now_ms + TASK_CREDENTIALS_SECONDS * 1000;
    let creds = api::Credentials {
        access_key_id: format!("ASIA{}", rng.string_from(UPPER, 16)),
        secret_access_key: rng.string_from(SECRET, 40),
        session_token: rng.string_from(SECRET, 256),
        expiration: ms_to_seconds(expires_at_ms),
    };
    sessions.insert(Session {
        access_key_id: creds.access_key_id.clone(),
        account_id,
        role_arn: role_arn.to_string(),
        session_name: task_id.to_string(),
        role_id,
        expires_at_ms,
    });
    Some(creds)
}

#[allow(clippy::cast_precision_loss)] // epoch milliseconds stay far below 2^53
fn ms_to_seconds(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

fn duration(given: Option<i32>, default: i32, max: i32) -> Result<i32, AwsError> {
    let d = given.unwrap_or(default);
    if d < 900 {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )));
    }
    if d > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(d)
}

impl StsApi for StsHandler<'_, '_> {
    fn get_caller_identity(
        &mut self,
        _input: api::GetCallerIdentityRequest,
    ) -> Result<api::GetCallerIdentityResponse, AwsError> {
        let (user_id, arn) = self.identity();
        Ok(api::GetCallerIdentityResponse {
            user_id: Some(user_id),
            account: Some(self.principal.account_id.clone()),
            arn: Some(arn),
        })
    }

    fn assume_role(&mut self, input: api::AssumeRoleRequest) -> Result<api::AssumeRoleResponse, AwsError> {
        let Some((account_id, role_name)) = parse_role_arn(&input.role_arn) else {
            return Err(validation("Request ARN is invalid"));
        };
        let name = &input.role_session_name;
        let name_ok = (2..=64).contains(&name.chars().count())
            && name.chars().all(|c| c.is_alphanumeric() || "_+=,.@-".contains(c));
        if !name_ok {
            return Err(validation(format!(
                "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )));
        }
        let seconds = duration(input.duration_seconds, 3600, 43_200)?;
        let role_id = self.sessions.role_id(&input.role_arn, self.ctx.rng);
        let creds = self.credentials(seconds);
        let arn = format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{name}");
        let user = api::AssumedRoleUser {
            assumed_role_id: format!("{role_id}:{name}"),
            arn,
        };
        self.record(&creds, account_id, input.role_arn.clone(), name.clone(), role_id);
        Ok(api::AssumeRoleResponse {
            credentials: Some(creds),
            assumed_role_user: Some(user),
            source_identity: input.source_identity,
            ..Default::default()
        })
    }

    fn get_session_token(
        &mut self,
        input: api::GetSessionTokenRequest,
    ) -> Result<api::GetSessionTokenResponse, AwsError> {
        if self.principal.session.is_some() {
            return Err(AwsError::client(
                "AccessDenied",
                "Cannot call GetSessionToken with session credentials",
            )
            .with_status(403));
        }
        let seconds = duration(input.duration_seconds, 43_200, 129_600)?;
        let (user_id, arn) = self.identity();
        let creds = self.credentials(seconds);
        let account = self.principal.account_id.clone();
        self.record(&creds, account, arn, String::new(), user_id);
        Ok(api::GetSessionTokenResponse {
            credentials: Some(creds),
            ..Default::default()
        })
    }

    /// The account of a key this engine issued, of a twelve-digit key, or else the caller's.
    fn get_access_key_info(
        &mut self,
        input: api::GetAccessKeyInfoRequest,
    ) -> Result<api::GetAccessKeyInfoResponse, AwsError> {
        let key = input.access_key_id;
        let account = match self.sessions.get(&key) {
            Some(session) => session.account_id.clone(),
            None if ecsim_core::ids::is_account_id(&key) => key,
            None => self.principal.account_id.clone(),
        };
        Ok(api::GetAccessKeyInfoResponse {
            account: Some(account),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::SimTimings;
    use crate::timers::Timers;

    const NOW_MS: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    /// What the engine's `principal()` does with a key.
    fn principal_for(sessions: &Sessions, key: &str) -> Principal {
        match sessions.get(key) {
            Some(s) => Principal {
                account_id: s.account_id.clone(),
                access_key_id: key.into(),
                session: Some(s.clone()),
            },
            None if ecsim_core::ids::is_account_id(key) => Principal {
                account_id: key.into(),
                access_key_id: key.into(),
                session: None,
            },
            None => Principal {
                account_id: "000000000000".into(),
                access_key_id: key.into(),
                session: None,
            },
        }
    }

    struct Fixture {
        rng: Rng,
        timers: Timers,
        sim: SimTimings,
        sessions: Sessions,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                rng: Rng::seeded(7),
                timers: Timers::default(),
                sim: SimTimings::default(),
                sessions: Sessions::default(),
            }
        }

        fn call<R>(&mut self, key: &str, f: impl FnOnce(&mut StsHandler<'_, '_>) -> R) -> R {
            let principal = principal_for(&self.sessions, key);
            let mut ctx = Ctx {
                now_ms: NOW_MS,
                rng: &mut self.rng,
                timers: &mut self.timers,
                world_index: 0,
                sim: &self.sim,
                alarms: &crate::alarms::NoAlarms,
                runtime: &mut crate::task_runtime::RuntimePort::default(),
                functions: &mut crate::functions::Functions::default(),
            };
            let mut handler = StsHandler {
                principal: &principal,
                sessions: &mut self.sessions,
                ctx: &mut ctx,
            };
            f(&mut handler)
        }
    }

    fn assume(role_arn: &str, session: &str) -> api::AssumeRoleRequest {
        api::AssumeRoleRequest {
            role_arn: role_arn.into(),
            role_session_name: session.into(),
            ..Default::default()
        }
    }

    #[test]
    fn plain_keys_are_the_account_root() {
        let mut fx = Fixture::new();
        let me = fx
            .call("123456789012", |h| h.get_caller_identity(Default::default()))
            .unwrap();
        assert_eq!(me.account.as_deref(), Some("123456789012"));
        assert_eq!(me.arn.as_deref(), Some("arn:aws:iam::123456789012:root"));
        assert_eq!(me.user_id.as_deref(), Some("123456789012"));
        let anon = fx
            .call("", |h| h.get_caller_identity(Default::default()))
            .unwrap();
        assert_eq!(anon.user_id.as_deref(), Some(ANONYMOUS_KEY));
        assert_eq!(anon.account.as_deref(), Some("000000000000"));
    }

    #[test]
    fn assume_role_then_call_with_the_new_key() {
        let mut fx = Fixture::new();
        let role = "arn:aws:iam::111122223333:role/deploy/ci-runner";
        let out = fx
            .call("test", |h| h.assume_role(assume(role, "build-42")))
            .unwrap();
        let creds = out.credentials.unwrap();
        assert!(creds.access_key_id.starts_with("ASIA"));
        assert_eq!(creds.access_key_id.len(), 20);
        assert!(
            creds.access_key_id[4..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert_eq!(creds.secret_access_key.len(), 40);
        assert!(!creds.session_token.is_empty());
        assert!((creds.expiration - (NOW_MS as f64 / 1000.0 + 3600.0)).abs() < 1e-6);
        let user = out.assumed_role_user.unwrap();
        assert_eq!(
            user.arn,
            "arn:aws:sts::111122223333:assumed-role/ci-runner/build-42"
        );
        assert!(user.assumed_role_id.starts_with("AROA") && user.assumed_role_id.ends_with(":build-42"));

        let me = fx
            .call(&creds.access_key_id, |h| {
                h.get_caller_identity(Default::default())
            })
            .unwrap();
        assert_eq!(me.account.as_deref(), Some("111122223333"));
        assert_eq!(
            me.arn.as_deref(),
            Some("arn:aws:sts::111122223333:assumed-role/ci-runner/build-42")
        );
        assert_eq!(me.user_id.as_deref(), Some(user.assumed_role_id.as_str()));

        let info = fx
            .call("test", |h| {
                h.get_access_key_info(api::GetAccessKeyInfoRequest {
                    access_key_id: creds.access_key_id.clone(),
                })
            })
            .unwrap();
        assert_eq!(info.account.as_deref(), Some("111122223333"));

        // A second session of the same role keeps the role id.
        let again = fx.call("test", |h| h.assume_role(assume(role, "other"))).unwrap();
        let again_id = again.assumed_role_user.unwrap().assumed_role_id;
        assert_eq!(again_id.split(':').next(), user.assumed_role_id.split(':').next());
        assert_eq!(fx.sessions.len(), 2);
    }

    #[test]
    fn assume_role_validates_its_input() {
        let mut fx = Fixture::new();
        for bad in [
            "arn:aws:iam::1234:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:s3:::bucket/role/x",
            "arn:aws:iam::123456789012:role/",
            "not-an-arn-at-all-really",
        ] {
            let err = fx.call("test", |h| h.assume_role(assume(bad, "s1"))).unwrap_err();
            assert_eq!(err.code, "ValidationError", "{bad}");
        }
        let role = "arn:aws:iam::123456789012:role/r";
        let long = api::AssumeRoleRequest {
            duration_seconds: Some(43_201),
            ..assume(role, "s1")
        };
        assert_eq!(
            fx.call("test", |h| h.assume_role(long)).unwrap_err().code,
            "ValidationError"
        );
        let bad_name = fx
            .call("test", |h| h.assume_role(assume(role, "has space")))
            .unwrap_err();
        assert_eq!(bad_name.code, "ValidationError");
        assert!(fx.sessions.is_empty(), "failed calls record nothing");
        let ok = api::AssumeRoleRequest {
            duration_seconds: Some(900),
            ..assume(role, "s1")
        };
        let creds = fx
            .call("test", |h| h.assume_role(ok))
            .unwrap()
            .credentials
            .unwrap();
        assert_eq!(
            fx.sessions.get(&creds.access_key_id).unwrap().expires_at_ms,
            NOW_MS + 900_000
        );
    }

    #[test]
    fn session_tokens_keep_the_callers_identity() {
        let mut fx = Fixture::new();
        let creds = fx
            .call("123456789012", |h| h.get_session_token(Default::default()))
            .unwrap()
            .credentials
            .unwrap();
        assert!(creds.access_key_id.starts_with("ASIA"));
        assert!((creds.expiration - (NOW_MS as f64 / 1000.0 + 43_200.0)).abs() < 1e-6);
        let me = fx
            .call(&creds.access_key_id, |h| {
                h.get_caller_identity(Default::default())
            })
            .unwrap();
        assert_eq!(me.account.as_deref(), Some("123456789012"));
        assert_eq!(me.arn.as_deref(), Some("arn:aws:iam::123456789012:root"));
        assert_eq!(me.user_id.as_deref(), Some("123456789012"));
        let err = fx
            .call(&creds.access_key_id, |h| h.get_session_token(Default::default()))
            .unwrap_err();
        assert_eq!(err.code, "AccessDenied");
    }

    #[test]
    fn issued_keys_are_reproducible_from_the_seed() {
        let role = "arn:aws:iam::123456789012:role/r";
        let key = |_: ()| {
            let mut fx = Fixture::new();
            fx.call("test", |h| h.assume_role(assume(role, "s1")))
                .unwrap()
                .credentials
                .unwrap()
                .access_key_id
        };
        assert_eq!(key(()), key(()));
    }
}

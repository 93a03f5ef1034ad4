//! STS through aws-sdk-sts (awsQuery): caller identity and AssumeRole.

use ecsim::{ClockMode, Emulator};

use crate::common::{code, start, start_with};

#[tokio::test]
async fn caller_identity_uses_the_default_or_the_key_account() {
    let env = start(ClockMode::Virtual).await;
    let id = env.sts.get_caller_identity().send().await.unwrap();
    assert_eq!(id.account(), Some("000000000000"));
    assert_eq!(id.arn(), Some("arn:aws:iam::000000000000:root"));

    let env = start_with(Emulator::builder().clock(ClockMode::Virtual), "123456789012").await;
    let id = env.sts.get_caller_identity().send().await.unwrap();
    assert_eq!(id.account(), Some("123456789012"));
    // Each account has its own world.
    env.ecs
        .create_cluster()
        .cluster_name("mine")
        .send()
        .await
        .unwrap();
    let other = start_with(Emulator::builder().clock(ClockMode::Virtual), "test").await;
    assert!(
        other
            .ecs
            .list_clusters()
            .send()
            .await
            .unwrap()
            .cluster_arns()
            .is_empty()
    );
}

#[tokio::test]
async fn assume_role_returns_usable_credentials() {
    let env = start(ClockMode::Virtual).await;
    let out = env
        .sts
        .assume_role()
        .role_arn("arn:aws:iam::111122223333:role/deployer")
        .role_session_name("ci")
        .send()
        .await
        .unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::111122223333:assumed-role/deployer/ci"
    );

    // The same emulator resolves the new key to the role's account.
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .endpoint_url(env.url())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            creds.access_key_id(),
            creds.secret_access_key(),
            Some(creds.session_token().to_string()),
            None,
            "assumed",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let sts = aws_sdk_sts::Client::from_conf(config);
    let id = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(id.account(), Some("111122223333"));
    assert_eq!(
        id.arn(),
        Some("arn:aws:sts::111122223333:assumed-role/deployer/ci")
    );

    let err = env
        .sts
        .assume_role()
        .role_arn("not-an-arn")
        .role_session_name("ci")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ValidationError");
}

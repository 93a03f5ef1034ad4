//! Which local image a task definition's `image` names, and the error text of a failed pull.
//!
//! ECR references (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`) resolve to a local
//! image of that exact name when one exists, else to a local `<repo>:<tag>`, so images built for
//! ECR run unchanged. Pure string handling.

/// Local image names to try for `image`, in order.
pub fn candidates(image: &str) -> Vec<String> {
    let mut names = vec![with_default_tag(image)];
    if let Some((registry, rest)) = image.split_once('/')
        && is_ecr_registry(registry)
    {
        names.push(with_default_tag(rest));
    }
    names
}

/// `name` with `:latest` added when it has neither tag nor digest.
fn with_default_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// `<account>.dkr.ecr.<region>.amazonaws.com` (and the `.com.cn` partition).
fn is_ecr_registry(host: &str) -> bool {
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() >= 6
        && parts[0].len() == 12
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && parts[1] == "dkr"
        && parts[2] == "ecr"
        && parts[4] == "amazonaws"
}

/// The stopped reason ECS gives when an image cannot be pulled.
pub fn pull_failure_reason(image: &str, detail: &str) -> String {
    format!(
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {image}: {detail}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_get_latest() {
        assert_eq!(candidates("web"), vec!["web:latest"]);
        assert_eq!(candidates("web:v2"), vec!["web:v2"]);
        assert_eq!(
            candidates("localhost:5000/web"),
            vec!["localhost:5000/web:latest"]
        );
        assert_eq!(candidates("web@sha256:abc"), vec!["web@sha256:abc"]);
    }

    #[test]
    fn ecr_names_fall_back_to_the_repository() {
        assert_eq!(
            candidates("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.4"),
            vec![
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:1.4",
                "team/web:1.4"
            ]
        );
        assert_eq!(
            candidates("123456789012.dkr.ecr.us-east-1.amazonaws.com/web").len(),
            2
        );
        assert_eq!(candidates("registry.example.com/web:1").len(), 1);
    }

    #[test]
    fn pull_failures_read_like_ecs() {
        assert!(pull_failure_reason("a:b", "not found").starts_with("CannotPullContainerError: "));
    }
}

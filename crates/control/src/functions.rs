//! Local stand-ins for Lambda functions. Lifecycle hooks (CodeDeploy AppSpec hooks, ECS
//! deployment lifecycle hooks) name Lambda functions; there is no Lambda here, so each name
//! resolves to an HTTP endpoint or a command the user registered.
//!
//! The engine only queues invocations and applies their outcomes: the edge performs them (an HTTP
//! POST of the payload, or a command fed the payload on stdin) with the engine unlocked. Nothing
//! here does IO or reads a clock.

use std::collections::BTreeMap;

use serde_json::Value;

/// Invocations queued and not yet taken by the edge, at most (the edge drains the queue after
/// every engine call, so this only bounds a stalled edge).
pub const MAX_QUEUED_INVOCATIONS: usize = 10_000;

/// What a function name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionTarget {
    /// POST the payload as JSON; the response body is the function's result.
    Http { url: String },
    /// Run `program args…` with the payload on stdin; its stdout is the function's result.
    Command { program: String, args: Vec<String> },
}

impl FunctionTarget {
    /// The JSON view the emulator API shows and accepts.
    pub fn to_json(&self) -> Value {
        match self {
            FunctionTarget::Http { url } => serde_json::json!({ "url": url }),
            FunctionTarget::Command { program, args } => {
                let mut argv = vec![Value::String(program.clone())];
                argv.extend(args.iter().cloned().map(Value::String));
                serde_json::json!({ "command": argv })
            }
        }
    }

    /// Reads `{"url": "http://…"}` or `{"command": ["program", "arg", …]}`.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let Some(object) = value.as_object() else {
            return Err("a function target must be a JSON object with url or command".into());
        };
        if let Some(unknown) = object.keys().find(|k| *k != "url" && *k != "command") {
            return Err(format!("unknown field '{unknown}': give url or command"));
        }
        match (object.get("url"), object.get("command")) {
            (Some(url), None) => {
                let url = url.as_str().unwrap_or_default();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err("url must be an http:// or https:// URL".into());
                }
                Ok(FunctionTarget::Http { url: url.to_string() })
            }
            (None, Some(command)) => {
                let argv: Option<Vec<String>> = command
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                match argv {
                    Some(mut argv) if !argv.is_empty() && !argv[0].is_empty() => {
                        let program = argv.remove(0);
                        Ok(FunctionTarget::Command { program, args: argv })
                    }
                    _ => Err("command must be a non-empty array of strings".into()),
                }
            }
            _ => Err("give exactly one of url or command".into()),
        }
    }
}

/// The function name in a Lambda function reference: a bare name, a partial ARN
/// (`123456789012:function:name`) or a full ARN, with or without a version or alias qualifier.
pub fn function_name(reference: &str) -> &str {
    let parts: Vec<&str> = reference.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => parts[i + 1],
        _ => reference,
    }
}

/// One invocation for the edge to perform.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub id: u64,
    /// The function name the hook named (resolved from an ARN).
    pub function_name: String,
    pub target: FunctionTarget,
    pub payload: Value,
}

/// How an invocation ended, as the edge reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum InvocationOutcome {
    /// The function answered: the HTTP response body or the command's stdout, parsed as JSON
    /// when it is JSON (`Value::Null` when empty).
    Returned(Value),
    /// The function could not be invoked or failed: connection refused, a non-2xx answer, a
    /// command that could not start or exited non-zero, a timeout.
    Failed(String),
}

/// Who waits on an invocation's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationPurpose {
    /// A CodeDeploy AppSpec hook: the function reports back through
    /// PutLifecycleEventHookExecutionStatus; only a failed invocation matters here.
    CodeDeployHook {
        world: usize,
        deployment_id: String,
        execution_id: String,
    },
    /// An ECS deployment lifecycle hook: the function's result carries `hookStatus`.
    EcsHook {
        world: usize,
        service_deployment_arn: String,
        hook_id: String,
    },
}

/// The function registry and the invocations in flight.
#[derive(Debug, Default, Clone)]
pub struct Functions {
    targets: BTreeMap<String, FunctionTarget>,
    pending: BTreeMap<u64, InvocationPurpose>,
    outbox: Vec<Invocation>,
    next_id: u64,
}

impl Functions {
    /// Registers (or replaces) what `name` resolves to. `name` may be an ARN; the function name
    /// in it is what counts.
    pub fn register(&mut self, name: &str, target: FunctionTarget) {
        self.targets.insert(function_name(name).to_string(), target);
    }

    /// Forgets a function. Returns whether it was registered.
    pub fn remove(&mut self, name: &str) -> bool {
        self.targets.remove(function_name(name)).is_some()
    }

    /// Registered functions by name.
    pub fn targets(&self) -> &BTreeMap<String, FunctionTarget> {
        &self.targets
    }

    pub fn resolve(&self, reference: &str) -> Option<&FunctionTarget> {
        self.targets.get(function_name(reference))
    }

    /// Queues an invocation of `reference` for the edge. Err (with the message CodeDeploy and
    /// ECS give for a function that does not exist) when nothing is registered under its name
    /// or the queue is full.
    pub fn invoke(
        &mut self,
        reference: &str,
        payload: Value,
        purpose: InvocationPurpose,
    ) -> Result<u64, String> {
        let name = function_name(reference);
        let Some(target) = self.targets.get(name).cloned() else {
            return Err(format!(
                "Function not found: {reference}. ecsim has no Lambda: register a local stand-in \
                 for '{name}' (PUT /_ecsim/functions/{name} or --function {name}=URL)"
            ));
        };
        if self.outbox.len() >= MAX_QUEUED_INVOCATIONS {
            return Err(format!(
                "ecsim could not invoke {name}: {MAX_QUEUED_INVOCATIONS} invocations are already queued"
            ));
        }
        self.next_id += 1;
        let id = self.next_id;
        self.pending.insert(id, purpose);
        self.outbox.push(Invocation {
            id,
            function_name: name.to_string(),
            target,
            payload,
        });
        Ok(id)
    }

    /// The invocations queued since the last call, for the edge.
    pub fn take_invocations(&mut self) -> Vec<Invocation> {
        std::mem::take(&mut self.outbox)
    }

    /// Who waited on invocation `id` (once: a second outcome for the same id is ignored).
    pub fn complete(&mut self, id: u64) -> Option<InvocationPurpose> {
        self.pending.remove(&id)
    }

    /// Drops queued and pending invocations (engine reset); registrations stay.
    pub fn clear_invocations(&mut self) {
        self.pending.clear();
        self.outbox.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_from_names_and_arns() {
        assert_eq!(function_name("hook"), "hook");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:hook"),
            "hook"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:hook:live"),
            "hook"
        );
        assert_eq!(function_name("123456789012:function:hook"), "hook");
    }

    #[test]
    fn invocations_resolve_queue_and_complete_once() {
        let mut f = Functions::default();
        let purpose = InvocationPurpose::CodeDeployHook {
            world: 0,
            deployment_id: "d-1".into(),
            execution_id: "e".into(),
        };
        let err = f
            .invoke(
                "arn:aws:lambda:us-east-1:1:function:missing",
                Value::Null,
                purpose.clone(),
            )
            .unwrap_err();
        assert!(err.contains("Function not found"), "{err}");
        f.register(
            "arn:aws:lambda:us-east-1:1:function:check",
            FunctionTarget::Http {
                url: "http://127.0.0.1:1/hook".into(),
            },
        );
        let id = f
            .invoke("check", serde_json::json!({"a": 1}), purpose.clone())
            .unwrap();
        let queued = f.take_invocations();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].function_name, "check");
        assert!(f.take_invocations().is_empty());
        assert_eq!(f.complete(id), Some(purpose));
        assert_eq!(f.complete(id), None);
    }

    #[test]
    fn targets_parse_from_json_and_render_back() {
        for good in [
            serde_json::json!({"url": "http://127.0.0.1:9000/hook"}),
            serde_json::json!({"command": ["sh", "-c", "exit 0"]}),
        ] {
            let t = FunctionTarget::from_json(&good).unwrap();
            assert_eq!(t.to_json(), good);
        }
        for bad in [
            serde_json::json!("x"),
            serde_json::json!({}),
            serde_json::json!({"url": "ftp://x"}),
            serde_json::json!({"command": []}),
            serde_json::json!({"command": [1]}),
            serde_json::json!({"url": "http://x", "command": ["a"]}),
            serde_json::json!({"uri": "http://x"}),
        ] {
            assert!(FunctionTarget::from_json(&bad).is_err(), "{bad}");
        }
    }
}

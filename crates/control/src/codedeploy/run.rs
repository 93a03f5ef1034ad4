//! The CodeDeploy deployment controller.

use crate::engine::Ctx;
use crate::world::World;

/// How the stand-in of an AppSpec hook's Lambda function was invoked.
pub fn on_invocation_outcome(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    deployment_id: &str,
    execution_id: &str,
    outcome: crate::functions::InvocationOutcome,
) {
    let _ = (world, ctx, deployment_id, execution_id, outcome);
}

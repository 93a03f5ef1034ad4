//! Weighted selection of target groups: a smooth weighted round-robin schedule, so any window of
//! requests is split as close to the weights as integers allow.

/// One period of smooth weighted round robin over `weights` (indexes into `weights`), of length
/// `sum(weights)`; empty when every weight is 0.
pub fn smooth_schedule(weights: &[u32]) -> Vec<u16> {
    let _ = weights;
    todo!("helper A")
}

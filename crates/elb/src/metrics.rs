//! Per-minute `AWS/ApplicationELB` metrics from request outcomes.

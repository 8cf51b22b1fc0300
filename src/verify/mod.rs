//! Verification: HTTP smoke checks against a load balancer, retried until they pass or time out.

pub mod checks;
pub mod rollout;

//! `paved-verify`: the verify step on its own. All of it lives in the library.

paved::step_main!(
    "paved-verify",
    verify,
    "Follow a kubeapp's rollout, wait for its load balancer, run its HTTP checks, mark the cluster verified.",
    "Exit codes: 0 ok, 1 failed, 2 bad input, 3 verification failed."
);

//! `paved-teardown`: the teardown step on its own. All of it lives in the library.

paved::step_main!(
    "paved-teardown",
    teardown,
    "Delete one color of a kubeapp: Services with load balancers, nodegroups, cluster, DNS record.",
    "Exit codes: 0 ok (also when already gone), 1 failed or refused, 2 bad input."
);

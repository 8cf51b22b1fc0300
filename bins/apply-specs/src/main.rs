//! `paved-apply-specs`: the apply-specs step on its own. All of it lives in the library.

paved::step_main!(
    "paved-apply-specs",
    apply_specs,
    "Server-side apply a kubeapp's objects to its cluster, in order, pruning what it no longer declares.",
    "Exit codes: 0 ok, 1 failed, 2 bad input."
);

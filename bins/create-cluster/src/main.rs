//! `paved-create-cluster`: the create-cluster step on its own. All of it lives in the library.

paved::step_main!(
    "paved-create-cluster",
    create_cluster,
    "Create (or adopt) a kubeapp's EKS cluster of one color, its nodegroups and their tags.",
    "Exit codes: 0 ok, 1 failed, 2 bad input."
);

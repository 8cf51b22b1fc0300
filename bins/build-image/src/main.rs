//! `paved-build-image`: the build-image step on its own. All of it lives in the library.

paved::step_main!(
    "paved-build-image",
    build_image,
    "Build and push a kubeapp's image, skipped when the registry already has its content hash.",
    "Exit codes: 0 ok, 1 failed, 2 bad input."
);

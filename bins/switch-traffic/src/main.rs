//! `paved-switch-traffic`: the switch-traffic step on its own. All of it lives in the library.

paved::step_main!(
    "paved-switch-traffic",
    switch_traffic,
    "Move a kubeapp's DNS traffic to one color, in checked steps; a failing check restores it.",
    "Exit codes: 0 ok, 1 failed, refused or restored, 2 bad input."
);

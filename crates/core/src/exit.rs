//! Exit codes, the same for every paved command and step binary.

/// Done.
pub const OK: u8 = 0;
/// A step failed (AWS, Kubernetes or GitHub said no, or a guard refused).
pub const FAILED: u8 = 1;
/// The input is wrong: a spec, a flag or an argument.
pub const BAD_INPUT: u8 = 2;
/// The new version did not pass verification.
pub const VERIFY_FAILED: u8 = 3;

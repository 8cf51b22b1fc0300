//! actions/setup/install.sh as a runner runs it: a release archive downloaded over HTTPS (a
//! stand-in for GitHub Releases, tests/support/release_mirror.py) is checked against
//! checksums.txt at the pinned commit before anything is unpacked; a tampered archive, cached or
//! fresh, is refused; a version the commit does not list is refused with what to do.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const VERSION: &str = "9.9.9";

struct Mirror {
    child: Child,
    url: String,
    ca: PathBuf,
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run")
}

fn target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    }
}

/// A release directory `v<version>/` with an archive as release.yml packs it. Its programs are
/// small scripts standing in for the binaries (what is checked here is the download, not them).
fn release(dir: &Path) -> PathBuf {
    let archive = dir.join(format!(
        "releases/v{VERSION}/paved-{VERSION}-{}.tar.gz",
        target()
    ));
    std::fs::create_dir_all(archive.parent().expect("parent")).expect("mkdir");
    let bins = dir.join("built");
    std::fs::create_dir_all(&bins).expect("mkdir");
    let names = [
        "paved",
        "paved-build-image",
        "paved-create-cluster",
        "paved-apply-specs",
        "paved-verify",
        "paved-switch-traffic",
        "paved-teardown",
    ];
    for name in names {
        let path = bins.join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho \"{name} {VERSION}\"\n")).expect("write");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
    }
    let out = run(Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&bins)
        .args(names));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    archive
}

fn mirror(dir: &Path) -> Mirror {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port_file = dir.join("port");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/release_mirror.py");
    let child = Command::new("python3")
        .arg(script)
        .arg(dir.join("releases"))
        .arg(&cert)
        .arg(&key)
        .arg(&port_file)
        .spawn()
        .expect("start the mirror");
    let deadline = Instant::now() + Duration::from_secs(20);
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&port_file).map(|p| p.trim().to_string())
            && !p.is_empty()
        {
            break p;
        }
        assert!(Instant::now() < deadline, "the mirror did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    Mirror {
        child,
        url: format!("https://127.0.0.1:{port}"),
        ca: cert,
    }
}

/// install.sh of this working tree at a "commit" whose checksums.txt is `checksums`.
fn install(dir: &Path, mirror: &Mirror, version: &str, checksums: &str) -> Output {
    let action = dir.join("actions/setup");
    std::fs::create_dir_all(&action).expect("mkdir");
    let script = action.join("install.sh");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("actions/setup/install.sh"),
        &script,
    )
    .expect("copy");
    std::fs::write(action.join("checksums.txt"), checksums).expect("checksums");
    let runner = dir.join("runner");
    std::fs::create_dir_all(&runner).expect("runner");
    run(Command::new("bash")
        .arg(&script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PAVED_VERSION", version)
        .env("PAVED_DEST", dir.join("dest"))
        .env("PAVED_RELEASES", &mirror.url)
        .env("CURL_CA_BUNDLE", &mirror.ca)
        .env("GITHUB_PATH", runner.join("path"))
        .env("GITHUB_OUTPUT", runner.join("output")))
}

fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_release_installs_only_when_the_pinned_checksums_list_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = release(dir.path());
    let name = archive
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    let listed = format!("{}  {name}\n", sha256(&archive));
    let mirror = mirror(dir.path());

    let out = install(dir.path(), &mirror, VERSION, &listed);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("paved "),
        "the installed paved ran: {stdout}"
    );
    let bin_dir = dir.path().join("dest/bin");
    let path = std::fs::read_to_string(dir.path().join("runner/path")).expect("GITHUB_PATH");
    assert_eq!(path.trim(), bin_dir.display().to_string());
    assert!(bin_dir.join("paved-switch-traffic").exists());

    // The cached archive is checked again: tampered with, it is refused and removed.
    let cached = dir.path().join("dest").join(&name);
    std::fs::write(&cached, b"not the release").expect("tamper");
    let out = install(dir.path(), &mirror, VERSION, &listed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("does not match the manifest"), "{stderr}");
    assert!(!cached.exists(), "the tampered archive is gone");

    // A download that differs from the pinned checksum is refused before it is unpacked.
    std::fs::remove_dir_all(dir.path().join("dest")).expect("clean");
    let wrong = format!("{}  {name}\n", "0".repeat(64));
    let out = install(dir.path(), &mirror, VERSION, &wrong);
    assert!(!out.status.success());
    assert!(!dir.path().join("dest/bin").exists(), "nothing unpacked");

    // A version the pinned commit does not list: told to pin the release's tag.
    let out = install(dir.path(), &mirror, "9.9.8", &listed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("has no entry for paved-9.9.8"), "{stderr}");
}

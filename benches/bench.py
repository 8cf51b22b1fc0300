#!/usr/bin/env python3
"""paved's performance figures, measured in one run and printed as a table.

  content hash of a generated context (20,000 files, ~700 MB by default):
    - clean tree through git's index   vs  `git status --porcelain` on the same tree
    - every byte read (--no-git)       vs  `openssl dgst -sha256` over the same files, 2 processes
  verify latency against the fake API server (watch-driven), and its API requests
  `paved status --all` over 60 generated apps against moto: time and AWS calls by service;
  `paved exec --all -- true` and `paved janitor` over the same fleet: time and AWS calls
  startup (`--version`) and stripped size of each paved binary

The status figure needs the test bed: the one PAVED_TEST_AWS_ENDPOINT names, else the script
starts one (scripts/testbed/start) and stops it at the end.

Times are the minimum of several runs (the least disturbed by other work on the machine).
Usage: benches/bench.py [--files N] [--megabytes M] [--runs R] [--keep DIR] [--hash-only]
(--hash-only builds just the paved binary and measures just the content hash.)
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, cwd=None, env=None):
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def best_of(runs, cmd, cwd=None, shell=False):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def generate(root, files, megabytes):
    """A source-tree-like context: many small files, a few large ones, nested directories."""
    rng = random.Random(42)
    total = megabytes * 1024 * 1024
    large = max(1, files // 1000)
    large_size = int(total * 0.8) // large
    small_size = max(1, int(total * 0.2) // (files - large))
    chunk = rng.randbytes(1 << 20)
    for i in range(files):
        d = os.path.join(root, "src", f"m{i % 97:02d}", f"p{i % 13:02d}")
        os.makedirs(d, exist_ok=True)
        size = large_size if i < large else small_size
        with open(os.path.join(d, f"f{i:05d}.dat"), "wb") as f:
            while size > 0:
                n = min(size, len(chunk))
                f.write(chunk[:n])
                size -= n
    with open(os.path.join(root, "Dockerfile"), "w") as f:
        f.write("FROM scratch\nCOPY . /src\n")
    with open(os.path.join(root, ".dockerignore"), "w") as f:
        f.write(".git\n")
    with open(os.path.join(root, "kubeapp.yaml"), "w") as f:
        f.write(
            "name: bench\nimage: { docker: { dockerfile: Dockerfile, context: . } }\n"
            "cluster: { region: us-east-1, version: \"1.33\", nodegroups: { d: { instanceTypes: [m7i.large], min: 1, max: 1 } } }\n"
            "components: { web: { ports: { http: 8080 } } }\n"
        )


def bed_env():
    """The test bed's variables: this environment's, or those of a bed started now (and a
    function that stops it)."""
    if os.environ.get("PAVED_TEST_AWS_ENDPOINT"):
        return {}, lambda: None
    run([os.path.join(ROOT, "scripts/testbed/start")])
    state = os.environ.get("PAVED_BED_STATE", os.path.expanduser("~/.cache/paved/bed"))
    found = {}
    with open(os.path.join(state, "env")) as f:
        for line in f:
            if line.startswith("export ") and "=" in line:
                key, value = line[len("export "):].strip().split("=", 1)
                found[key] = value
    return found, lambda: run([os.path.join(ROOT, "scripts/testbed/stop")])


def fleet_status(release, runs=3):
    """`paved status --all` (release build) over 60 generated apps; the best of `runs`."""
    extra, stop = bed_env()
    env = dict(os.environ, PAVED_BIN_DIR=release, **extra)
    best = None
    try:
        for _ in range(runs):
            out = subprocess.run(
                ["cargo", "nextest", "run", "--test", "status", "fleet_of_sixty", "--no-capture"],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )
            printed = (out.stdout + out.stderr).splitlines()
            lines = [l for l in printed if l.startswith("status --all:")]
            execs = [l for l in printed if l.startswith(("exec --all", "janitor:"))]
            if not lines or len(execs) < 2:
                return "status --all: not measured (the test failed)\n" + out.stderr[-2000:]
            seconds = float(lines[0].split(" in ")[1].split("s ")[0])
            if best is None or seconds < best[0]:
                best = (seconds, "\n".join(lines[:1] + execs))
    finally:
        stop()
    return best[1] + f" (the run with the best status time, of {runs})"


def spec_load(paved, runs=3):
    """`paved validate` of one app with 100 and with 1000 components (ASCII and not): loading a
    spec must grow with its size, not with its square."""
    base = open(os.path.join(ROOT, "apps/hello/kubeapp.yaml")).read()
    head, tail = base.split("components:")[0], base.split("dns:")[1]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for word in ("hello", "héllo"):
            took = {}
            for n in (100, 1000):
                comps = "  web:\n    ports: { http: 8080 }\n    service: { port: 80, public: true }\n"
                comps += "".join(
                    f"  worker{i}:\n    ports: {{ http: 8080 }}\n    env: {{ GREETING: \"{word} {i}\" }}\n"
                    for i in range(n - 1)
                )
                d = os.path.join(tmp, f"{word}-{n}")
                os.makedirs(d)
                with open(os.path.join(d, "kubeapp.yaml"), "w") as f:
                    f.write(head + "components:\n" + comps + "dns:" + tail)
                took[n] = best_of(runs, [paved, "validate", d])
            kind = "ASCII" if word.isascii() else "non-ASCII"
            lines.append(
                f"spec load ({kind}): 100 components {took[100] * 1000:.0f} ms, 1000 components "
                f"{took[1000] * 1000:.0f} ms ({took[1000] / took[100]:.1f}x for 10x)"
            )
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--megabytes", type=int, default=700)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", help="generate into (or reuse) this directory")
    ap.add_argument("--hash-only", action="store_true", help="build paved alone, measure the content hash alone")
    args = ap.parse_args()

    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    print("building release binaries ...", file=sys.stderr)
    scope = ["-p", "paved-cli"] if args.hash_only else ["--workspace"]
    run(["cargo", "build", "--release", "--quiet", *scope], cwd=ROOT)
    release = os.path.join(target, "release")
    paved = os.path.join(release, "paved")

    tree = args.keep or tempfile.mkdtemp(prefix="paved-bench-")
    if not os.path.exists(os.path.join(tree, "kubeapp.yaml")):
        print(f"generating {args.files} files, {args.megabytes} MB in {tree} ...", file=sys.stderr)
        os.makedirs(tree, exist_ok=True)
        generate(tree, args.files, args.megabytes)
        env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b")
        run(["git", "init", "-q"], cwd=tree)
        run(["git", "add", "-A"], cwd=tree, env=env)
        run(["git", "commit", "-q", "-m", "bench"], cwd=tree, env=env)
    # Warm the page cache and git's index stat data, as a CI checkout would be after `git status`.
    run(["git", "status", "--porcelain"], cwd=tree)
    run(["cat"] + [os.path.join(tree, "Dockerfile")])
    subprocess.run(f"find {tree}/src -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True)

    rows = []
    git_status = best_of(args.runs, ["git", "status", "--porcelain"], cwd=tree)
    hash_git = best_of(args.runs, [paved, "hash", tree], cwd=tree)
    rows.append(("hash, clean tree via git index", hash_git, f"git status --porcelain {git_status * 1000:.1f} ms", hash_git / git_status))
    openssl = best_of(
        max(1, args.runs // 2),
        f"find {tree}/src -type f -print0 | xargs -0 -n 500 -P 2 openssl dgst -sha256",
        shell=True,
    )
    hash_bytes = best_of(max(1, args.runs // 2), [paved, "hash", "--no-git", tree], cwd=tree)
    rows.append(("hash, every byte read (--no-git)", hash_bytes, f"openssl dgst -sha256 x2 {openssl * 1000:.0f} ms", hash_bytes / openssl))

    # Both ways must give the same number, or the faster one is wrong.
    same = [subprocess.run([paved, "hash", *flag, tree], cwd=tree, check=True, capture_output=True, text=True).stdout
            for flag in ([], ["--no-git"])]
    print(f"\ncontext: {args.files} files, {args.megabytes} MB ({tree})\n")
    print(f"{'measure':<38} {'paved':>10}  {'baseline':<34} {'ratio':>6}")
    for name, t, base, ratio in rows:
        print(f"{name:<38} {t * 1000:>8.1f}ms  {base:<34} {ratio:>6.2f}")
    print("git index and every byte agree" if same[0] == same[1] else f"MISMATCH: {same[0].strip()} vs {same[1].strip()}")
    if args.hash_only:
        if not args.keep:
            shutil.rmtree(tree, ignore_errors=True)
        return

    # Verify's latency: from the fake API server marking the Deployment available to verify
    # returning (watch-driven), and the API requests it made; the test prints both.
    out = subprocess.run(
        ["cargo", "nextest", "run", "--test", "verify", "a_rollout_is_followed", "--no-capture"],
        cwd=ROOT, capture_output=True, text=True,
    )
    latency = [l for l in (out.stdout + out.stderr).splitlines() if l.startswith("verify returned")]
    print(f"\n{latency[0] if latency else 'verify latency: not measured (the test did not run)'}")

    print(f"\n{fleet_status(release)}")

    print(f"\n{spec_load(os.path.join(release, 'paved'))}")

    print(f"\n{'binary':<22} {'--version':>10} {'stripped size':>14}")
    for name in sorted(os.listdir(release)):
        path = os.path.join(release, name)
        if not (name == "paved" or name.startswith("paved-")) or not os.access(path, os.X_OK) or "." in name:
            continue
        startup = best_of(20, [path, "--version"])
        size = os.path.getsize(path)
        print(f"{name:<22} {startup * 1000:>8.2f}ms {size / 1e6:>12.1f}MB")
    if not args.keep:
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Installs the paved binaries for this runner: downloads a release archive (or reuses the cached
# one) and checks it against checksums.txt beside this script before anything is unpacked or run;
# with PAVED_VERSION=source, builds the workspace this action lives in.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${PAVED_VERSION:?}
dest=${PAVED_DEST:?}

publish() {
  echo "$1" >>"${GITHUB_PATH:-/dev/null}"
  echo "bin-dir=$1" >>"${GITHUB_OUTPUT:-/dev/null}"
  "$1/paved" --version
}

# A runner image that carries paved already (a self-hosted runner, a test bed) says where.
if [ -n "${PAVED_PREINSTALLED:-}" ]; then
  echo "::notice::paved from $PAVED_PREINSTALLED, installed on this runner (not downloaded)"
  publish "$PAVED_PREINSTALLED"
  exit 0
fi

if [ "$version" = source ]; then
  # $dest is cached by commit: a second job or run of this commit finds the build.
  if [ ! -x "$dest/target/release/paved" ]; then
    root=$(cd "$here/../.." && pwd)
    cargo build --release --locked --manifest-path "$root/Cargo.toml" --target-dir "$dest/target" \
      -p paved-cli -p paved-build-image -p paved-create-cluster -p paved-apply-specs \
      -p paved-verify -p paved-switch-traffic -p paved-teardown
  fi
  publish "$dest/target/release"
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-musl ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
  *) echo "paved has no release build for $(uname -s) $(uname -m); use version: source" >&2; exit 1 ;;
esac
archive="paved-$version-$target.tar.gz"
expected=$(awk -v f="$archive" '$2 == f { print $1 }' "$here/checksums.txt")
if [ -z "$expected" ]; then
  echo "checksums.txt at this action's ref has no entry for $archive:" >&2
  echo "pin the action at a commit that lists version $version, or use version: source" >&2
  exit 1
fi
mkdir -p "$dest"
if [ ! -f "$dest/$archive" ]; then
  curl --fail --silent --show-error --location --proto '=https' --retry 3 \
    --output "$dest/$archive.part" "$PAVED_RELEASES/v$version/$archive"
  mv "$dest/$archive.part" "$dest/$archive"
fi
# Cached or fresh, the archive is checked every time.
actual=$(sha256sum "$dest/$archive" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
  rm -f "$dest/$archive"
  echo "$archive: sha256 $actual does not match the manifest's $expected; refusing it" >&2
  exit 1
fi
rm -rf "$dest/bin" && mkdir -p "$dest/bin"
tar -xzf "$dest/$archive" -C "$dest/bin"
publish "$dest/bin"

#!/usr/bin/env bash
# Stand-in for actions/checkout (see ../README.md).
set -euo pipefail
echo "checkout repository=$REPOSITORY ref=$REF path=$TARGET persist-credentials=$PERSIST" >>"${PAVED_STANDIN_LOG:-/dev/null}"
if [ -z "$REPOSITORY" ]; then
  echo "::error::Input required and not supplied: repository" >&2
  exit 1
fi
workspace=$(cd "$GITHUB_WORKSPACE" && pwd)
mkdir -p "$workspace/$TARGET"
dest=$(cd "$workspace/$TARGET" && pwd)
case "$dest/" in
  "$workspace/"*) ;;
  *) echo "::error::Repository path '$dest' is not under '$workspace'" >&2; exit 1 ;;
esac
ref=$REF
if [ -z "$ref" ] && [ "$REPOSITORY" = "$EVENT_REPOSITORY" ]; then ref=$EVENT_SHA; fi
source=""
IFS=';' read -ra entries <<<"${PAVED_STANDIN_REPOS:-}"
for entry in "${entries[@]}"; do
  key=${entry%%=*}
  dir=${entry#*=}
  if [ "$key" = "$REPOSITORY@$ref" ]; then source=$dir; tree=1; break; fi
  if [ "$key" = "$REPOSITORY" ]; then source=$dir; tree=""; break; fi
done
if [ -z "$source" ]; then
  echo "::error::repository $REPOSITORY@$ref is not one the test bed knows (PAVED_STANDIN_REPOS)" >&2
  exit 1
fi
if [ -n "$tree" ]; then
  cp -a "$source/." "$dest/"
else
  [ -n "$ref" ] || ref=HEAD
  git -C "$source" rev-parse --verify --quiet "$ref^{commit}" >/dev/null || {
    echo "::error::The process 'git' failed: couldn't find remote ref $ref in $REPOSITORY" >&2
    exit 1
  }
  git clone --quiet --no-checkout "$source" "$dest"
  git -C "$dest" checkout --quiet --detach "$ref"
fi

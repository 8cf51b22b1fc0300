#!/usr/bin/env bash
# Runs one paved step for a composite action. The action passes its inputs as PAVED_IN_*
# variables (never interpolated into this script), and the step writes its own outputs to
# $GITHUB_OUTPUT.
set -euo pipefail
step=$1
args=("${PAVED_IN_APP:?the app input is required}")
flag() { if [ -n "${2:-}" ]; then args+=("--$1" "$2"); fi; }
switch() { if [ "${2:-false}" = true ]; then args+=("--$1"); fi; }
flag color "${PAVED_IN_COLOR:-}"
flag to "${PAVED_IN_TO:-}"
flag image "${PAVED_IN_IMAGE:-}"
flag timeout "${PAVED_IN_TIMEOUT:-}"
flag registry "${PAVED_IN_REGISTRY:-}"
flag environment "${PAVED_IN_ENVIRONMENT:-}"
flag stage "${PAVED_IN_STAGE:-}"
flag region "${PAVED_IN_REGION:-}"
flag production "${PAVED_IN_PRODUCTION:-}"
switch record "${PAVED_IN_RECORD:-}"
switch dry-run "${PAVED_IN_DRY_RUN:-}"
switch due "${PAVED_IN_DUE:-}"
# An empty deployment id means "none": clap would reject an empty number.
if [ -z "${PAVED_DEPLOYMENT_ID:-}" ]; then unset PAVED_DEPLOYMENT_ID; fi
if [ -z "${GITHUB_TOKEN:-}" ]; then unset GITHUB_TOKEN; fi
case $step in
  # Without AWS credentials (a pull request from a fork) the plan is made offline.
  plan)
    if [ "${PAVED_IN_LIVE:-true}" = true ]; then args+=(--live); fi
    exec paved plan --output markdown "${args[@]}" ;;
  build-image | create-cluster | apply-specs | verify | switch-traffic | teardown)
    exec "paved-$step" "${args[@]}" ;;
  *) echo "run-step.sh: unknown step $step" >&2; exit 2 ;;
esac

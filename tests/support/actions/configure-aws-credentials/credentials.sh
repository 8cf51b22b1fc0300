#!/usr/bin/env bash
# Stand-in for aws-actions/configure-aws-credentials (see ../README.md).
set -euo pipefail
echo "configure-aws-credentials role=$ROLE region=$REGION duration=$DURATION" >>"${PAVED_STANDIN_LOG:-/dev/null}"
if [ -z "$REGION" ] || ! [[ $REGION =~ ^[a-z0-9-]+$ ]]; then
  echo "::error::Region is not valid: $REGION" >&2
  exit 1
fi
case ";${PAVED_STANDIN_TRUSTED_ROLES:-};" in
  *";$ROLE;"*) ;;
  *)
    echo "::error::Could not assume role with OIDC: Not authorized to perform sts:AssumeRoleWithWebIdentity" >&2
    exit 1 ;;
esac
{
  echo "AWS_REGION=$REGION"
  echo "AWS_DEFAULT_REGION=$REGION"
  echo "AWS_ACCESS_KEY_ID=${PAVED_STANDIN_AWS_ACCESS_KEY_ID:-testing}"
  echo "AWS_SECRET_ACCESS_KEY=${PAVED_STANDIN_AWS_SECRET_ACCESS_KEY:-testing}"
  echo "AWS_SESSION_TOKEN=${PAVED_STANDIN_AWS_SESSION_TOKEN:-testing-session}"
} >>"$GITHUB_ENV"
echo "aws-account-id=123456789012" >>"$GITHUB_OUTPUT"

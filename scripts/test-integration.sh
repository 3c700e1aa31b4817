#!/usr/bin/env bash
# `npm run test:integration`: starts the real stack (MLflow, SeaweedFS S3, Azurite, PostgreSQL,
# Redis on 127.0.0.1; scripts/stack/stack.sh), runs the integration suites and the HTTP e2e suites
# on it (the artifact ones a second time with Azure Blob as the store: e2e-azure), and stops the
# stack afterwards (KEEP_STACK=1 leaves it running for the next run).
# Extra arguments go to jest, e.g. `npm run test:integration -- test/real-stack`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/stack/stack.sh up
if [ "${KEEP_STACK:-0}" != "1" ]; then
  trap 'scripts/stack/stack.sh down' EXIT
fi
# shellcheck disable=SC1091
source .stack/run/env
npx jest --runInBand --selectProjects integration e2e-real e2e-azure "$@"

#!/usr/bin/env bash
# Runs the README's examples for real: `npm run test:examples`.
#
# Builds the service and starts it as `npm start` does (node dist/main.js from the project's
# folder, the embedded backends, the development secret) on a fresh temporary DATA_DIR and a
# free loopback port, then:
#   1. runs examples/use-it.sh, the README's "Use it" script, word for word, with the tokens it
#      mints itself (`npm run -s token`, which finds the secret in that DATA_DIR);
#   2. runs examples/python/registry_client.py in a venv (.examples/venv, git-ignored, rebuilt
#      only when examples/python/requirements.txt or the Python changes) while an approver
#      approves the request it opened with curl; it must end with the version in production.
#      A second run is rejected: the client must see it and exit 3.
# Fails on the first check that fails, with the service's log.
#
# Knobs (environment):
#   EXAMPLES_SKIP_BUILD=1   use the existing dist/ (it must be up to date)
#   PYTHON                  the Python that makes the venv (default python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.examples/venv"
REQUIREMENTS="$ROOT/examples/python/requirements.txt"
PYTHON="${PYTHON:-python3}"

log() { printf '[examples] %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

for tool in curl jq "$PYTHON"; do
  command -v "$tool" >/dev/null || fail "$tool is needed (jq: apt-get install jq, brew install jq)"
done

# --- the venv: rebuilt only when the pinned requirements (or the Python) change -------------
venv_stamp() {
  { sha256sum "$REQUIREMENTS" | cut -d' ' -f1; "$PYTHON" -c 'import sys; print(sys.version)'; } |
    sha256sum | cut -d' ' -f1
}
ensure_venv() {
  local want
  want="$(venv_stamp)"
  if [[ -x "$VENV/bin/python" && -f "$VENV/.stamp" && "$(cat "$VENV/.stamp")" == "$want" ]]; then
    return
  fi
  log "building $VENV from examples/python/requirements.txt"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
  "$VENV/bin/pip" check >/dev/null
  echo "$want" >"$VENV/.stamp"
}
ensure_venv

# --- build and start the service ------------------------------------------------------------
if [[ "${EXAMPLES_SKIP_BUILD:-}" != "1" ]]; then
  log "building the service (nest build)"
  npm run --silent build >/dev/null
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/registry-examples.XXXXXX")"
export DATA_DIR="$WORK/data"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export REGISTRY_URL="http://127.0.0.1:$PORT"
B="$REGISTRY_URL/api/v1/ml/registry"
SERVICE_LOG="$WORK/service.log"
SERVICE_PID=""

cleanup() {
  local status=$?
  if [[ -n "$SERVICE_PID" ]] && kill -0 "$SERVICE_PID" 2>/dev/null; then
    kill -TERM "$SERVICE_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVICE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVICE_PID" 2>/dev/null || true
  fi
  if [[ $status -ne 0 && -f "$SERVICE_LOG" ]]; then
    log "the service's log (last 40 lines):"; tail -n 40 "$SERVICE_LOG" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# As `npm start` runs it, from the project's folder; no secret given, so the service makes the
# development secret in DATA_DIR, and the examples' `npm run -s token` finds it there.
log "starting the service on $REGISTRY_URL (DATA_DIR $DATA_DIR)"
env -u AUTH_JWT_SECRET -u AUTH_JWKS_URI -u AUTH_ISSUER -u AUTH_AUDIENCE \
  HOST=127.0.0.1 PORT="$PORT" LOG_LEVEL=warn node "$ROOT/dist/main.js" >"$SERVICE_LOG" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 150); do
  kill -0 "$SERVICE_PID" 2>/dev/null || fail "the service exited during startup"
  if curl -fsS -o /dev/null "$REGISTRY_URL/health/ready" 2>/dev/null; then break; fi
  sleep 0.2
done
curl -fsS -o /dev/null "$REGISTRY_URL/health/ready" || fail "the service is not ready"

# --- 1. the README's "Use it" script ----------------------------------------------------------
started=$SECONDS
log "running examples/use-it.sh"
bash examples/use-it.sh 2>&1 | sed 's/^/[use-it] /' >&2 || fail "examples/use-it.sh failed"
log "examples/use-it.sh passed in $((SECONDS - started)) s"

# --- 2. the Python client, approved by a second person ----------------------------------------
started=$SECONDS
editor="$(npm run -s token -- --sub carol --tenant acme-corp --roles editor)"
approver="$(npm run -s token -- --sub dave --tenant acme-corp --roles approver)"
"$VENV/bin/python" - "$WORK" <<'PY'
import json, pickle, sys
from pathlib import Path
work = Path(sys.argv[1])
(work / "model.pkl").write_bytes(pickle.dumps({"weights": [0.3, -0.8], "bias": 0.1}))
(work / "metrics.json").write_text(json.dumps({"f1_score": 0.9, "auc": 0.95}))
PY

# run_client NAME DECISION EXPECTED_EXIT: the client opens a request on model NAME and waits;
# meanwhile the approver finds it among the pending ones and decides it (approve or reject).
run_client() {
  local name=$1 decision=$2 expected=$3 out="$WORK/client-$1.txt" client approval="" code=0
  REGISTRY_TOKEN="$editor" "$VENV/bin/python" examples/python/registry_client.py \
    --name "$name" --model "$WORK/model.pkl" --metrics "$WORK/metrics.json" \
    --comment "from the Python example" --timeout 60 --poll-interval 0.5 >"$out" 2>&1 &
  client=$!
  for _ in $(seq 1 100); do
    approval="$(curl -fsS -H "Authorization: Bearer $approver" \
      "$B/approvals?status=pending&model=$name" | jq -r '.approvals[0].id // empty')"
    [[ -n "$approval" ]] && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.2
  done
  if [[ -n "$approval" ]]; then
    sleep 1 # the client is polling a pending request now
    curl -fsS -o /dev/null -H "Authorization: Bearer $approver" -H 'Content-Type: application/json' \
      -d '{"comment": "reviewed in CI"}' "$B/approvals/$approval/$decision" ||
      { kill "$client" 2>/dev/null; fail "could not $decision approval $approval"; }
  fi
  wait "$client" || code=$?
  sed "s/^/[python $name] /" "$out" >&2
  [[ -n "$approval" ]] || fail "the client opened no approval request for $name"
  [[ $code -eq $expected ]] || fail "the client exited $code after '$decision', expected $expected"
}

run_client fraud-detector approve 0
grep -q '^fraud-detector version 1 is now in stage production$' "$WORK/client-fraud-detector.txt" ||
  fail "the client did not report version 1 in production"
stage="$(curl -fsS -H "Authorization: Bearer $approver" "$B/models/fraud-detector/versions/1" | jq -r .stage)"
[[ "$stage" == production ]] || fail "fraud-detector version 1 is in stage '$stage', not production"

run_client spam-filter reject 3
grep -q 'was rejected by dave' "$WORK/client-spam-filter.txt" ||
  fail "the client did not report the rejection"
log "the Python client passed in $((SECONDS - started)) s"
log "examples passed"

#!/usr/bin/env bash
# Schema-driven fuzzing of the whole API: `npm run test:fuzz`.
#
# Builds the service, starts it embedded (SQLite + files) on a fresh temporary DATA_DIR on a
# free loopback port, seeds a tenant with models, versions, artifacts and approvals, then runs
# schemathesis against the service's own /docs-json once per role (viewer, editor, approver,
# admin) with a token of that role. Every response must be a non-5xx answer that conforms to the
# documented status codes, content types, headers and schemas. Writes fuzz-results/summary.json
# and exits non-zero on any failure or when fewer than FUZZ_MIN_REQUESTS requests ran.
#
# Knobs (environment):
#   FUZZ_MAX_EXAMPLES   schemathesis --max-examples per operation (default 25)
#   FUZZ_ROLES          roles to fuzz, in order (default "viewer editor approver admin";
#                       admin last: it deletes what the others use)
#   FUZZ_SEED           schemathesis --seed (default: random; the summary records it)
#   FUZZ_MIN_REQUESTS   fail below this many requests in total (default 2000)
#   FUZZ_RESULTS_DIR    where the reports go (default fuzz-results)
#   FUZZ_SKIP_BUILD=1   use the existing dist/ (it must be up to date)
#   FUZZ_BACKENDS=real  run the service on the real test stack instead (MLflow, S3, a fresh
#                       PostgreSQL database, Redis; needs .stack/run/env or the STACK_* variables)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

FUZZ_HOME="$ROOT/.fuzz"
VENV="$FUZZ_HOME/venv"
REQUIREMENTS="$ROOT/scripts/fuzz/requirements.txt"
RESULTS="${FUZZ_RESULTS_DIR:-$ROOT/fuzz-results}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-25}"
ROLES="${FUZZ_ROLES:-viewer editor approver admin}"
export FUZZ_MIN_REQUESTS="${FUZZ_MIN_REQUESTS:-2000}"
PYTHON="${PYTHON:-python3}"

log() { printf '[fuzz] %s\n' "$*" >&2; }

# --- the venv: rebuilt only when the pinned requirements (or the Python) change -------------
venv_stamp() {
  { sha256sum "$REQUIREMENTS" | cut -d' ' -f1; "$PYTHON" -c 'import sys; print(sys.version)'; } |
    sha256sum | cut -d' ' -f1
}
ensure_venv() {
  local want
  want="$(venv_stamp)"
  if [[ -x "$VENV/bin/schemathesis" && -f "$VENV/.stamp" && "$(cat "$VENV/.stamp")" == "$want" ]]; then
    return
  fi
  log "building $VENV from scripts/fuzz/requirements.txt (pinned with hashes)"
  rm -rf "$VENV"
  mkdir -p "$FUZZ_HOME"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
    --require-hashes --no-deps --only-binary=:all: -r "$REQUIREMENTS"
  "$VENV/bin/pip" check >/dev/null
  echo "$want" >"$VENV/.stamp"
}
ensure_venv
log "$("$VENV/bin/schemathesis" --version)"

# --- build --------------------------------------------------------------------------------
if [[ "${FUZZ_SKIP_BUILD:-}" != "1" ]]; then
  log "building the service (nest build)"
  npm run --silent build >/dev/null
fi

# --- start the service ----------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/registry-fuzz.XXXXXX")"
DATA_DIR="$WORK/data"
mkdir -p "$DATA_DIR"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
AUTH_JWT_SECRET="fuzz-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(24))')"
export AUTH_JWT_SECRET
URL="http://127.0.0.1:$PORT"
SERVICE_LOG="$WORK/service.log"
SERVICE_PID=""

cleanup() {
  local status=$?
  if [[ -n "$SERVICE_PID" ]] && kill -0 "$SERVICE_PID" 2>/dev/null; then
    kill -TERM "$SERVICE_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVICE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVICE_PID" 2>/dev/null || true
  fi
  if [[ -f "$SERVICE_LOG" ]]; then
    mkdir -p "$RESULTS"
    cp "$SERVICE_LOG" "$RESULTS/service.log" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The embedded default unless FUZZ_BACKENDS=real: no backend variable leaks in from the caller's
# environment, and the service runs from an empty folder so a developer's .env is not read either.
# The per-user rate limit stays on (its code runs on every request) but high enough that the
# fuzzer, at 25-40 requests per second per token, never reaches it.
BACKEND_ENV=()
if [[ "${FUZZ_BACKENDS:-embedded}" == "real" ]]; then
  if [[ -z "${STACK_DATABASE_URL:-}" && -f "$ROOT/.stack/run/env" ]]; then
    # shellcheck disable=SC1091
    source "$ROOT/.stack/run/env"
  fi
  mapfile -t BACKEND_ENV < <(node -r ts-node/register/transpile-only scripts/fuzz/real-env.ts)
  [[ ${#BACKEND_ENV[@]} -gt 0 ]] || { log "could not prepare the real backends"; exit 1; }
  log "on the real backends: $(printf '%s\n' "${BACKEND_ENV[@]}" | grep -E '^(MLFLOW_TRACKING_URI|ML_REGISTRY_NAMESPACE)=' | tr '\n' ' ')"
fi
log "starting the service on $URL (DATA_DIR $DATA_DIR)"
(
  cd "$WORK"
  exec env -u MLFLOW_TRACKING_URI -u MLFLOW_ARTIFACT_ROOT -u S3_ENDPOINT -u DATABASE_URL \
    -u REDIS_URL -u AUTH_JWKS_URI -u AUTH_ISSUER -u AUTH_AUDIENCE \
    HOST=127.0.0.1 PORT="$PORT" DATA_DIR="$DATA_DIR" AUTH_JWT_SECRET="$AUTH_JWT_SECRET" \
    NODE_ENV=production LOG_LEVEL="${FUZZ_LOG_LEVEL:-warn}" RATE_LIMIT_PER_MINUTE=1000000 \
    "${BACKEND_ENV[@]}" \
    node "$ROOT/dist/main.js"
) >"$SERVICE_LOG" 2>&1 &
SERVICE_PID=$!

for _ in $(seq 1 150); do
  if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
    log "the service exited during startup:"; cat "$SERVICE_LOG" >&2; exit 1
  fi
  if curl -fsS -o /dev/null "$URL/health/ready" 2>/dev/null; then break; fi
  sleep 0.2
done
curl -fsS -o /dev/null "$URL/health/ready" || { log "the service is not ready"; cat "$SERVICE_LOG" >&2; exit 1; }

# --- seed data and tokens -------------------------------------------------------------------
SEED_FILE="$WORK/seed.json"
node -r ts-node/register/transpile-only scripts/fuzz/seed.ts --url "$URL" --out "$SEED_FILE" >&2

# --- fuzz, once per role --------------------------------------------------------------------
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance
seed_args=()
if [[ -n "${FUZZ_SEED:-}" ]]; then seed_args=(--seed "$FUZZ_SEED"); fi
started=$SECONDS
for role in $ROLES; do
  token="$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["tokens"][sys.argv[2]])' "$SEED_FILE" "$role")"
  mkdir -p "$RESULTS/$role"
  log "fuzzing as $role (max $MAX_EXAMPLES examples per operation and phase)"
  set +e
  (
    cd "$RESULTS/$role"
    FUZZ_SEED_FILE="$SEED_FILE" PYTHONPATH="$ROOT/scripts/fuzz" SCHEMATHESIS_HOOKS=hooks \
      "$VENV/bin/schemathesis" run "$URL/docs-json" \
      --header "Authorization: Bearer $token" \
      --checks "$CHECKS" \
      --max-examples "$MAX_EXAMPLES" \
      --phases examples,coverage,fuzzing,stateful \
      --workers 1 \
      --request-timeout 30 \
      --generation-database none \
      --suppress-health-check too_slow,filter_too_much \
      --continue-on-failure \
      --max-failures 50 \
      --no-color \
      --warnings off \
      --report ndjson,junit \
      --report-dir "$RESULTS/$role" \
      --report-ndjson-path "$RESULTS/$role/events.ndjson" \
      --report-junit-path "$RESULTS/$role/junit.xml" \
      "${seed_args[@]}"
  ) >"$RESULTS/$role/output.txt" 2>&1
  echo $? >"$RESULTS/$role/exit-code"
  set -e
  tail -n 25 "$RESULTS/$role/output.txt" | sed "s/^/[$role] /" >&2
  if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
    log "the service died while fuzzing as $role:"; tail -n 40 "$SERVICE_LOG" >&2
    break
  fi
done
log "fuzzing took $((SECONDS - started)) s"

"$VENV/bin/python" "$ROOT/scripts/fuzz/summarize.py" "$RESULTS" $ROLES

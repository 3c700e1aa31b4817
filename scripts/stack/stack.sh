#!/usr/bin/env bash
# The real test stack: an MLflow Tracking Server, SeaweedFS (S3), Azurite (Azure Blob), PostgreSQL
# and Redis, each our own instance on 127.0.0.1 with its data under .stack/run/ (never the system
# services).
#
#   stack.sh up [SVC...]   install what is missing, start all five (or those named), wait, write .stack/run/env
#   stack.sh down          stop all five and delete .stack/run/ (keeps the venv and pip cache)
#   stack.sh stop SVC      stop one service (port closed, data kept)   SVC: mlflow|s3|azurite|postgres|redis
#   stack.sh start SVC     start it again on the same port with the same data, wait until it answers
#   stack.sh env | status
#
# Caches: .stack/venv (MLflow, weed, boto3, azure-storage-blob; rebuilt only when requirements.txt or
# constraints.txt change) and .stack/cache/pip. Set STACK_DIR to keep .stack elsewhere.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$HERE/../.." && pwd)"
STACK_DIR="${STACK_DIR:-$ROOT/.stack}"
VENV="$STACK_DIR/venv"
RUN="$STACK_DIR/run"
TIMEOUT="${STACK_TIMEOUT:-120}"                 # seconds to wait for any one service
MLFLOW_WORKERS="${STACK_MLFLOW_WORKERS:-1}"     # uvicorn workers (Flask runs in its threadpool)
BUCKET=ml-artifacts
HEALTH_BUCKET=stack-health                      # write probes go here, never into $BUCKET
SERVICES=(postgres redis s3 azurite mlflow)     # start order (mlflow needs postgres)
# Azurite's well-known development account (public, in Microsoft's docs): never a real secret.
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
AZURITE_CONTAINER=ml-artifacts

# The S3 credentials come from the identities file that SeaweedFS enforces.
read -r S3_ACCESS_KEY S3_SECRET_KEY < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]; print(c["accessKey"], c["secretKey"])' "$HERE/s3-identities.json")

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# PostgreSQL refuses to run as root: as root it runs as the `postgres` user, otherwise as us.
if [ "$(id -u)" -eq 0 ]; then PG_USER=postgres; else PG_USER="$(id -un)"; fi
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() {  # newest installed server version's bin directory
  local d; for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && echo "$d"; done | sort -V | tail -1; }

# ---------------------------------------------------------------- install
ensure_packages() {
  local need=()
  [ -n "$(pg_bin || true)" ] || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v curl >/dev/null || need+=(curl)
  [ ${#need[@]} -eq 0 ] && return
  log "apt-get install ${need[*]}"
  # Keep apt from starting the system services (we run our own instances).
  local policy=/usr/sbin/policy-rc.d made=""
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"; made=1; fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ -z "$made" ] || as_root rm -f "$policy"
}

ensure_venv() {
  local want
  want="$( (cat "$HERE/requirements.txt" "$HERE/constraints.txt"; python3 -V) | sha256sum | cut -d' ' -f1)"
  [ -x "$VENV/bin/mlflow" ] && [ -x "$VENV/bin/weed" ] && [ "$(cat "$VENV/.stack-hash" 2>/dev/null)" = "$want" ] && return
  log "building $VENV from requirements.txt (cold: 1-2 min)"
  svc_stop mlflow; svc_stop s3                       # both run from the venv
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  PIP_CACHE_DIR="$STACK_DIR/cache/pip" "$VENV/bin/pip" install -q --disable-pip-version-check \
    -r "$HERE/requirements.txt"
  echo "$want" >"$VENV/.stack-hash"
}

# ---------------------------------------------------------------- ports
# Chosen once (free, below the kernel's ephemeral range so no outgoing connection grabs one
# while its service is stopped) and kept in run/ports, so stop/start reuse them.
PORT_NAMES=(MLFLOW_PORT S3_PORT PG_PORT REDIS_PORT S3_GRPC_PORT WEED_MASTER_PORT WEED_MASTER_GRPC_PORT
  WEED_VOLUME_PORT WEED_VOLUME_GRPC_PORT WEED_FILER_PORT WEED_FILER_GRPC_PORT WEED_ADMIN_PORT
  AZURITE_PORT)
port_used() { ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }
port_listening() { ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .; }
load_ports() {
  if [ ! -f "$RUN/ports" ]; then
    [ "${1:-}" = create ] || die "no stack state in $RUN: run '$SELF up' first"
    local name p taken=" "
    mkdir -p "$RUN"
    for name in "${PORT_NAMES[@]}"; do
      # weed's maintenance worker dials the admin gRPC port at admin port + 10000 whatever
      # -admin.port.grpc says, so that one needs both free (and below 32768).
      while if [ "$name" = WEED_ADMIN_PORT ]; then p=$((20000 + RANDOM % 2700)); q=$((p + 10000))
        else p=$((20000 + RANDOM % 12000)); q=$p; fi
        [[ $taken == *" $p "* || $taken == *" $q "* ]] || port_used "$p" || port_used "$q"; do :; done
      taken+="$p $q "; echo "$name=$p"
    done >"$RUN/ports.tmp"
    mv "$RUN/ports.tmp" "$RUN/ports"
  fi
  # shellcheck disable=SC1091
  . "$RUN/ports"
  # A stack started before a service was added has no port for it yet: pick one now (kept too).
  local missing taken
  for missing in "${PORT_NAMES[@]}"; do
    [ -z "${!missing:-}" ] || continue
    taken=" $(cut -d= -f2 "$RUN/ports" | tr '\n' ' ') "
    while p=$((20000 + RANDOM % 12000)); [[ $taken == *" $p "* ]] || port_used "$p"; do :; done
    echo "$missing=$p" >>"$RUN/ports"; printf -v "$missing" '%s' "$p"
  done
}

write_env() {
  cat >"$RUN/env.tmp" <<EOF
export STACK_MLFLOW_URI=http://127.0.0.1:$MLFLOW_PORT
export STACK_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export STACK_S3_ACCESS_KEY=$S3_ACCESS_KEY
export STACK_S3_SECRET_KEY=$S3_SECRET_KEY
export STACK_S3_BUCKET=$BUCKET
export STACK_DATABASE_URL=postgres://registry:registry@127.0.0.1:$PG_PORT/registry
export STACK_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
export STACK_AZURITE_ENDPOINT=http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT
export STACK_AZURITE_ACCOUNT=$AZURITE_ACCOUNT
export STACK_AZURITE_KEY=$AZURITE_KEY
export STACK_AZURITE_CONTAINER=$AZURITE_CONTAINER
export STACK_AZURITE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT;'
export STACK_SCRIPT=$SELF
EOF
  mv "$RUN/env.tmp" "$RUN/env"
}

# ---------------------------------------------------------------- processes
proc_alive() { local s; s="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ $s != Z* ]]; }   # zombies are dead
group_alive() { ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'; }
pidof_svc() { cat "$RUN/$1.pid" 2>/dev/null || true; }

# Start a command in its own session (pid = process group id, written by the process itself),
# so that stopping it can signal every process it spawned. fd 9 (our lock) is not inherited.
launch() {
  local svc=$1; shift
  rm -f "$RUN/$svc.pid"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/$svc.pid" "$@" >>"$RUN/$svc.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 50); do [ -s "$RUN/$svc.pid" ] && return; sleep 0.1; done
  fail "$svc" "did not start"
}

# SIGTERM the whole group, SIGKILL whatever is left after 20 s.
stop_group() {
  local svc=$1 pid; pid="$(pidof_svc "$svc")"
  [ -n "$pid" ] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 200); do group_alive "$pid" || break; sleep 0.1; done
  if group_alive "$pid"; then log "$svc: still running after 20 s, SIGKILL"; kill -KILL -- "-$pid" 2>/dev/null || true; sleep 0.5; fi
  rm -f "$RUN/$svc.pid"
}

fail() { log "ERROR: $1: $2; last lines of $RUN/$1.log:"; tail -n 40 "$RUN/$1.log" >&2 2>/dev/null || true; exit 1; }

# wait_for SVC CHECK...: poll CHECK until it succeeds, the service dies, or TIMEOUT passes.
wait_for() {
  local svc=$1; shift
  local end=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    svc_running "$svc" || fail "$svc" "exited while starting"
    [ $SECONDS -lt $end ] || fail "$svc" "not answering after ${TIMEOUT}s"
    sleep 0.25
  done
}

wait_port_closed() {
  local svc=$1 port=$2
  for _ in $(seq 100); do port_listening "$port" || return 0; sleep 0.1; done
  fail "$svc" "port $port still open after stop"
}

# ---------------------------------------------------------------- per service
s3_curl() { curl -fsS -m 3 --aws-sigv4 "aws:amz:us-east-1:s3" -u "$S3_ACCESS_KEY:$S3_SECRET_KEY" "$@"; }
s3_env() { env STACK_S3_ENDPOINT="http://127.0.0.1:$S3_PORT" STACK_S3_ACCESS_KEY="$S3_ACCESS_KEY" STACK_S3_SECRET_KEY="$S3_SECRET_KEY" "$@"; }
pg_psql() { as_pg "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN/pg-sock" -p "$PG_PORT" -U postgres -d postgres "$@"; }

svc_running() {
  case $1 in
    postgres) [ -f "$RUN/postgres/PG_VERSION" ] && as_pg "$(pg_bin)/pg_ctl" status -D "$RUN/postgres" >/dev/null 2>&1 ;;
    redis) local p; p="$(pidof_svc redis)"; [ -n "$p" ] && proc_alive "$p" ;;
    s3 | mlflow | azurite) local p; p="$(pidof_svc "$1")"; [ -n "$p" ] && group_alive "$p" ;;
  esac
}

svc_healthy() {
  case $1 in
    postgres) "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" ;;
    redis) [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] ;;
    s3) s3_curl -o /dev/null "http://127.0.0.1:$S3_PORT/" ;;             # signed ListBuckets
    # Any HTTP answer (an unsigned request gets 403): Azurite keeps nothing to warm up.
    azurite) [ "$(curl -sS -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT?comp=list" 2>/dev/null)" != 000 ] ;;
    mlflow) [ "$(curl -fsS -m 5 "http://127.0.0.1:$MLFLOW_PORT/health" 2>/dev/null)" = OK ] &&
      curl -fsS -m 10 -o /dev/null "http://127.0.0.1:$MLFLOW_PORT/api/2.0/mlflow/registered-models/search?max_results=1" ;;
  esac
}

pg_launch() {
  local data="$RUN/postgres" bin; bin="$(pg_bin)"
  if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data" "$RUN/pg-sock"
    [ "$(id -u)" -ne 0 ] || chown "$PG_USER:" "$data" "$RUN/pg-sock"
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-locale --no-sync \
      --auth-local=trust --auth-host=scram-sha-256 >>"$RUN/postgres.log" 2>&1 || fail postgres "initdb failed"
    # A disposable test database: no fsync (a clean stop still flushes everything to disk).
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$RUN/pg-sock'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  touch "$RUN/postgres.log"; [ "$(id -u)" -ne 0 ] || chown "$PG_USER:" "$RUN/postgres.log"
  as_pg "$bin/pg_ctl" start -D "$data" -l "$RUN/postgres.log" -w -t "$TIMEOUT" >/dev/null 9>&- ||
    fail postgres "pg_ctl start failed"
}

pg_roles() {  # idempotent: role registry (CREATEDB: tests create a database each), role + db for MLflow
  pg_psql >/dev/null <<'EOF'
SELECT 'CREATE ROLE registry LOGIN CREATEDB PASSWORD ''registry''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'registry') \gexec
SELECT 'CREATE ROLE mlflow LOGIN PASSWORD ''mlflow''' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mlflow') \gexec
SELECT 'CREATE DATABASE registry OWNER registry' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'registry') \gexec
SELECT 'CREATE DATABASE mlflow OWNER mlflow' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mlflow') \gexec
EOF
}

redis_launch() {
  mkdir -p "$RUN/redis"
  cat >"$RUN/redis/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
daemonize yes
pidfile $RUN/redis.pid
logfile $RUN/redis.log
dir $RUN/redis
appendonly yes
appendfsync everysec
save 60 1
EOF
  redis-server "$RUN/redis/redis.conf" 9>&- || fail redis "redis-server failed"
  for _ in $(seq 50); do [ -s "$RUN/redis.pid" ] && return; sleep 0.1; done
  fail redis "no pid file"
}

# SeaweedFS `weed mini`: master, volume server, filer and S3 gateway in one process, only signed
# requests (identities in s3-identities.json). Chosen over `weed server`, whose filer waits 15 s
# on its own metadata subscription at every SIGTERM and whose master restarts in ~17 s; mini
# stops in 1-5 s and answers again in 1-2 s (writes up to ~5 s later: see the probe). Its
# -idleTimeout (default 30 s) bounds how long the volume server's shutdown can wait on a kept-
# alive connection, hence 5. AWS_* / S3_BUCKET are unset: weed would add them as an extra
# identity / bucket. All logs go to run/s3.log (-logtostderr), none to /tmp.
s3_launch() {
  mkdir -p "$RUN/s3"
  (cd "$RUN/s3" && launch s3 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u S3_BUCKET -u S3_TABLE_BUCKET \
    "$VENV/bin/weed" -logtostderr mini -dir="$RUN/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port="$WEED_MASTER_PORT" -master.port.grpc="$WEED_MASTER_GRPC_PORT" -master.telemetry=false \
    -master.electionTimeout=1s -master.volumeSizeLimitMB=128 \
    -volume.port="$WEED_VOLUME_PORT" -volume.port.grpc="$WEED_VOLUME_GRPC_PORT" -volume.preStopSeconds=0 \
    -filer.port="$WEED_FILER_PORT" -filer.port.grpc="$WEED_FILER_GRPC_PORT" -filer.localSocket="$RUN/s3/filer.sock" \
    -s3.port="$S3_PORT" -s3.port.grpc="$S3_GRPC_PORT" -s3.localSocket="$RUN/s3/s3.sock" \
    -s3.config="$HERE/s3-identities.json" -s3.port.iceberg=0 -s3.port.lance=0 \
    -webdav=false -admin.ui=false -admin.port="$WEED_ADMIN_PORT" -idleTimeout=5)
}

# Azurite's blob service (npm `azurite`, a dev dependency: node_modules must be installed), data
# on disk under run/azurite so that stop/start keeps it like the other services. --loose and
# --skipApiVersionCheck: the SDKs (Node's and MLflow's Python one) may be newer than the
# emulator's API version.
azurite_launch() {
  local bin="$ROOT/node_modules/.bin/azurite-blob"
  [ -x "$bin" ] || fail azurite "$bin is missing: run npm ci first"
  mkdir -p "$RUN/azurite"
  launch azurite "$bin" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$RUN/azurite" \
    --skipApiVersionCheck --loose --silent --disableTelemetry
}

mlflow_launch() {
  svc_healthy postgres || die "mlflow: its backend store, postgres, is down (start postgres first)"
  # No job runner (huey consumers), no telemetry; S3 settings for any server-side artifact access.
  launch mlflow env MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true \
    MLFLOW_S3_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
    AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" AWS_DEFAULT_REGION=us-east-1 \
    "$VENV/bin/mlflow" server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers "$MLFLOW_WORKERS" \
    --backend-store-uri "postgresql+psycopg2://mlflow:mlflow@127.0.0.1:$PG_PORT/mlflow" \
    --no-serve-artifacts --default-artifact-root "s3://$BUCKET/mlflow"
}

svc_port() { case $1 in postgres) echo "$PG_PORT" ;; redis) echo "$REDIS_PORT" ;; s3) echo "$S3_PORT" ;; mlflow) echo "$MLFLOW_PORT" ;; azurite) echo "$AZURITE_PORT" ;; esac; }

svc_start() {
  local svc=$1 t0=$SECONDS
  if ! svc_running "$svc"; then
    port_listening "$(svc_port "$svc")" && die "$svc: port $(svc_port "$svc") is taken by another process"
    case $svc in postgres) pg_launch ;; redis) redis_launch ;; s3) s3_launch ;; mlflow) mlflow_launch ;; azurite) azurite_launch ;; esac
  fi
  wait_for "$svc" svc_healthy "$svc"
  # S3: the gateway answering is not enough; prove a write works (volumes assigned).
  [ "$svc" != s3 ] || STACK_TIMEOUT="$TIMEOUT" s3_env "$VENV/bin/python" "$HERE/s3util.py" probe "$BUCKET" "$HEALTH_BUCKET" >>"$RUN/s3.log" 2>&1 ||
    fail s3 "signed write probe failed"
  [ "$svc" != postgres ] || pg_roles || fail postgres "creating roles failed"
  log "$svc up on 127.0.0.1:$(svc_port "$svc") ($((SECONDS - t0)) s)"
}

svc_stop() {
  local svc=$1
  [ -f "$RUN/ports" ] || return 0
  load_ports
  case $svc in
    postgres) if svc_running postgres; then
        as_pg "$(pg_bin)/pg_ctl" stop -D "$RUN/postgres" -m fast -w -t 60 >/dev/null || fail postgres "pg_ctl stop failed"
      fi ;;
    redis) local p; p="$(pidof_svc redis)"   # SIGTERM: redis flushes the AOF and saves first
      if [ -n "$p" ] && proc_alive "$p"; then kill -TERM "$p"
        for _ in $(seq 300); do proc_alive "$p" || break; sleep 0.1; done
        proc_alive "$p" && fail redis "still running 30 s after SIGTERM"
      fi ;;
    s3 | mlflow | azurite) stop_group "$svc" ;;
  esac
  wait_port_closed "$svc" "$(svc_port "$svc")"
  log "$svc stopped"
}

check_svc() { case ${1:-} in mlflow | s3 | azurite | postgres | redis) ;; *) die "unknown service '${1:-}' (mlflow|s3|azurite|postgres|redis)" ;; esac; }

lock() { mkdir -p "$STACK_DIR"; exec 9>"$STACK_DIR/.lock"; flock -w 600 9 || die "another stack.sh holds $STACK_DIR/.lock"; }

# ---------------------------------------------------------------- commands
cmd=${1:-}
case $cmd in
  up)
    # `up azurite`: only those services (in the stack's start order), e.g. beside another
    # checkout's running stack; the venv is built only for the services that run from it.
    shift; for s in "$@"; do check_svc "$s"; done
    wanted=(); for s in "${SERVICES[@]}"; do
      if [ $# -eq 0 ] || [[ " $* " == *" $s "* ]]; then wanted+=("$s"); fi; done
    lock; t0=$SECONDS
    ensure_packages
    if [[ " ${wanted[*]} " == *" mlflow "* || " ${wanted[*]} " == *" s3 "* ]]; then ensure_venv; fi
    load_ports create
    for s in "${wanted[@]}"; do svc_start "$s"; done
    write_env
    log "stack up in $((SECONDS - t0)) s; env: $RUN/env"
    ;;
  down)
    lock
    for s in mlflow azurite s3 redis postgres; do svc_stop "$s"; done
    rm -rf "$RUN"
    log "stack down, $RUN removed"
    ;;
  stop) check_svc "${2:-}"; lock; load_ports; svc_stop "$2" ;;
  start) check_svc "${2:-}"; lock; load_ports; svc_start "$2" ;;
  env) [ -f "$RUN/env" ] || die "no $RUN/env: run '$SELF up' first"; cat "$RUN/env" ;;
  status)
    load_ports; rc=0
    for s in "${SERVICES[@]}"; do
      if svc_healthy "$s" 2>/dev/null; then st=up; elif svc_running "$s"; then st="running, not answering"; rc=3
      else st=down; rc=3; fi
      printf '%-9s %-24s 127.0.0.1:%s\n' "$s" "$st" "$(svc_port "$s")"
    done
    exit $rc
    ;;
  *) sed -n '2,12p' "$SELF" | sed 's/^# \{0,1\}//'; [ -z "$cmd" ] || [ "$cmd" = help ] || exit 2 ;;
esac

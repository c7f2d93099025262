# Shared by the bench scripts (sourced, not run): functions only.
# Most expect: $work (a temp folder), $UPSTREAM (the upstream's port), $API_KEY.

# wrk, nginx, taskset and curl from Debian's packages, when one is missing.
ensure_load_tools() {
  for tool in wrk nginx taskset curl; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk nginx util-linux curl >/dev/null; break; }
  done
}

# The gateway in Release from the working tree into $work/gateway and, with AB=<git ref>, from its own copy of the
# tree at that ref (git archive: no worktree left behind) into $work/gateway-b.
publish_gateways() {
  dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
  if [ -n "${AB:-}" ]; then
    mkdir -p "$work/ab-src"
    git archive "$AB" | tar -x -C "$work/ab-src"
    dotnet publish "$work/ab-src/src/Gateway/Gateway.csproj" -c Release -o "$work/gateway-b" >/dev/null
  fi
}

# A throw-away PostgreSQL cluster (Debian's package, installed when missing) in $1, listening on 127.0.0.1:$2, run as
# the postgres user with default durability (fsync, synchronous_commit on: a 202 means on disk, as in production);
# further arguments are server options. PG_CPU=<core> pins the server. Sets $pg_dir; stop_postgres stops it.
start_postgres() {
  pg_dir=$1
  local port=$2 pg_bin; shift 2
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$pg_bin" ] || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); }
  mkdir -p "$pg_dir" && chown postgres:postgres "$pg_dir" && chmod 755 "$(dirname "$pg_dir")"
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres >/dev/null
  ${PG_CPU:+taskset -c "$PG_CPU"} runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 $*" start >/dev/null
}

stop_postgres() {
  if [ -n "${pg_dir:-}" ]; then
    runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# The upstream stand-in: nginx answering OCP® (/ocp), the token endpoint (/token) and an OTLP collector
# (/v1/traces), in one worker.
write_upstream_conf() {
  cat > "$work/upstream.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/upstream.pid;
error_log $work/upstream-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$UPSTREAM;
    keepalive_requests 1000000;
    location = /ocp { default_type application/json; return 200 '{"accepted":true}'; }
    location = /token { default_type application/json; return 200 '{"access_token":"bench-token","token_type":"Bearer","expires_in":3600}'; }
    location = /v1/traces { return 200; }
  }
}
NGINX
}

# wrk's request script: the ~520 B message_created, a different event on every request (its message id is
# this wrk run's start time and a counter, same length): with the same bytes every time, store-and-forward
# would answer all but the first as a Talkdesk resend without forwarding it. The run's start time matters
# too: a counter alone starts again at 1 in every wrk run, and each run after the first would resend the
# previous run's events (store-and-forward answered them from its accepted keys, so it looked faster than
# direct mode until 2026-11-25). Its top-level "timestamp" is the time of sending, as in Talkdesk's events
# (same length): store-and-forward orders its key table by it and answers recent events from memory. And
# the events belong to 1 000 conversations, not one: with a single conversation, one event parked when wrk
# hangs up mid-forward at the end of a run (store-and-forward keeps an event whose caller left) holds every
# later event of that conversation behind it, and the next run measures the parking path (~300 events/s).
write_post_lua() {
  cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$API_KEY"
local f = io.open("bench/message_created_500b.json", "rb")
local template = f:read("*a"):gsub("%s+\$", "")
f:close()
local run = os.time() % 1000000
local n = 0
request = function()
  n = n + 1
  local body = template:gsub("msg%-0001", string.format("msg-%06d%09d", run, n), 1)
  body = body:gsub("2d7a1b6c9e01", string.format("2d7a1b%06d", n % 1000), 1)
  local stamp = os.date("!%Y-%m-%dT%H:%M:%S", os.time()) .. string.format(".%03dZ", n % 1000)
  return wrk.format(nil, nil, nil, (body:gsub('"timestamp":"[^"]*"', '"timestamp":"' .. stamp .. '"', 1)))
end
LUA
}

# The gateway's settings for every benchmark: production, quiet logs, metrics on the events port, the
# upstream stand-in as OCP® and token endpoint, the bench API key.
gateway_env() {
  gateway_env=(ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning Gateway__ManagementPort=0
    ReverseProxy__Clusters__ocp__Destinations__primary__Address="http://127.0.0.1:$UPSTREAM/ocp"
    Gateway__TokenClients__ocp__TokenEndpoint="http://127.0.0.1:$UPSTREAM/token"
    Gateway__TokenClients__ocp__ClientId=bench Gateway__TokenClients__ocp__ClientSecret=bench-secret
    Gateway__InboundAuth__talkdesk__ApiKeys__0="$API_KEY"
    Gateway__Delivery__EncryptionKeys__bench=X68f9Kj15KVXBtT1iqCJlrNueFXg9IjvlYs6tefAgG8= Gateway__Delivery__ActiveEncryptionKey=bench)
}

# Bare YARP (bench/BareYarp, published in $work/bare) on port $1, in front of the same upstream; its log
# is $work/$2.log (default bare), and further arguments go to it (--Framework=true).
start_bare_yarp() {
  local port=$1 name=${2:-bare}; shift; [ $# -gt 0 ] && shift
  (cd "$work/bare" && exec taskset -c "${SERVER_CPU:-0}" dotnet BareYarp.dll --urls "http://127.0.0.1:$port" "$@" \
    --ReverseProxy:Routes:all:ClusterId=up --ReverseProxy:Routes:all:Match:Path='{**any}' \
    --ReverseProxy:Routes:all:Transforms:0:PathSet=/ocp \
    --ReverseProxy:Clusters:up:Destinations:d:Address="http://127.0.0.1:$UPSTREAM") > "$work/$name.log" 2>&1 &
  pids+=($!)
}

# A temp folder in $work, and every process whose PID is added to $pids stopped (then the folder
# removed) when the script exits.
start_work() {
  work=$(mktemp -d)
  pids=()
  trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done; stop_postgres; rm -rf "$work"' EXIT
}

# Waits (up to 20 s) until $1 forwards a sample event with 200; otherwise prints $2 (a log file) and fails.
wait_for_200() {
  local code=""
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$1" -H 'Content-Type: application/json' \
      -H "X-API-Key: $API_KEY" --data-binary @bench/message_created_500b.json || true)
    [[ "$code" == 20[02] ]] && return 0
    sleep 0.2
  done
  echo "$1 does not answer 200 or 202 (got $code)"; cat "$2" 2>/dev/null; return 1
}

# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# CPU time (clock ticks) of the PostgreSQL cluster started by start_postgres: the postmaster, every process it runs
# (backends, WAL writer, checkpointer) and those that have exited.
pg_ticks() {
  local pm; pm=$(head -1 "$pg_dir/data/postmaster.pid")
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$pm" '$1 == pm { t += $14 + $15 + $16 + $17 } $4 == pm { t += $14 + $15 } END { print t + 0 }'
}

# Bytes a process has caused to be written to storage (its page-cache writes: a store's WAL, file and checkpoints).
disk_bytes() {
  awk '/^write_bytes/ { print $2 }' "/proc/$1/io"
}

# Prometheus stand-in: the /metrics (on the events port) of every target named, read each 10 s while the
# rounds run, as production has one (prometheus-net's adapters start at the first scrape). Needs the
# caller's url and pid_of arrays; names without a PID are skipped.
start_scraper() {
  (while sleep 10; do
    for target in "$@"; do
      [ -n "${pid_of[$target]:-}" ] && curl -s -o /dev/null "${url[$target]%/talkdesk/events}/metrics" || true
    done
  done) & pids+=($!)
}


#!/usr/bin/env bash
# Load benchmark (issue #6): the gateway with every feature on, the same YARP bare, and nginx, all in
# front of one fast upstream, in interleaved rounds. See bench/README.md.
#
#   bash bench/load.sh                 # 5 rounds of 10 s per target, ~4 minutes
#   ROUNDS=3 DURATION=5 bash bench/load.sh
#   SOAK=300 bash bench/load.sh        # then 5 minutes more on the gateway alone, sampling its RSS
#   TRACING=1 bash bench/load.sh       # adds the gateway with OpenTelemetry on (OTLP to a stand-in collector)
#   AB=main bash bench/load.sh         # adds the gateway built from a git ref (gw-b) in the same rounds, and
#                                      # reports the working tree against it round by round (paired ratios)
#   AB=main AB_MODE=StoreAndForward bash bench/load.sh
#                                      # the same for store-and-forward: gw-b on a SQLite file of its own, paired with gw-sf
#   SF_STORE=postgres bash bench/load.sh
#                                      # store-and-forward on PostgreSQL (a throw-away cluster on the servers' core)
#
# The primary figure is the server's CPU time per event (steadier than throughput on a shared VM); every
# figure is a median over the rounds with its range. A scraper reads every gateway's /metrics each 10 s, as
# Prometheus does in production (prometheus-net's adapters start at the first scrape).
#
# All servers (upstream, nginx, bare YARP, gateway) share core 0; wrk runs alone on core 1. Every
# process started here is stopped by PID on exit. Traffic stays on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh

ROUNDS=${ROUNDS:-8}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-10}
CONNECTIONS=${CONNECTIONS:-32}
SOAK=${SOAK:-0}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
UPSTREAM=18081 NGINX=18082 BARE=18083 GATEWAY=18084 GATEWAY_SF=18085 GATEWAY_TRACE=18086 GATEWAY_B=18087 POSTGRES=18088
API_KEY=bench-inbound-key-0001

ensure_load_tools

start_work

echo "== building (Release)"
publish_gateways
dotnet publish bench/BareYarp/BareYarp.csproj -c Release -o "$work/bare" >/dev/null
[ -z "${AB:-}" ] || echo "gw-b is $(git rev-parse --short "$AB") ($AB); gateway is the working tree"

write_upstream_conf
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream ocp { server 127.0.0.1:$UPSTREAM; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX;
    keepalive_requests 1000000;
    location = /talkdesk/events { proxy_pass http://ocp/ocp; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
write_post_lua

# Same runtime settings for both .NET servers: tier-1 code at once (one core would otherwise take
# minutes to get there), workstation GC as in the container image.
export DOTNET_TC_CallCountingDelayMs=0 DOTNET_gcServer=0 DOTNET_CLI_TELEMETRY_OPTOUT=1

taskset -c "$SERVER_CPU" nginx -c "$work/upstream.conf" & pids+=($!)
taskset -c "$SERVER_CPU" nginx -c "$work/nginx.conf" & pids+=($!)
start_bare_yarp "$BARE"; declare -A pid_of=([bare]=${pids[-1]})
gateway_env
# The store-and-forward gateways' store: a SQLite file each, or with SF_STORE=postgres a database each in a throw-away
# PostgreSQL cluster on the servers' core (PG_CPU=<core> elsewhere).
sf_store=(ConnectionStrings__Delivery="Data Source=$work/deliveries.db") sf_store_b=(ConnectionStrings__Delivery="Data Source=$work/deliveries-b.db")
if [ "${SF_STORE:-sqlite}" = postgres ]; then
  PG_CPU=${PG_CPU:-$SERVER_CPU} start_postgres "$work/pg" "$POSTGRES"
  runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -q -h 127.0.0.1 -p "$POSTGRES" -c 'CREATE DATABASE load_b'
  sf_store=(Gateway__Delivery__Store=Postgres ConnectionStrings__Delivery="Host=127.0.0.1;Port=$POSTGRES;Username=postgres")
  sf_store_b=(Gateway__Delivery__Store=Postgres ConnectionStrings__Delivery="Host=127.0.0.1;Port=$POSTGRES;Username=postgres;Database=load_b")
fi
(cd "$work/gateway" && exec env "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY" \
  taskset -c "$SERVER_CPU" dotnet OcpTalkdesk.Gateway.dll) > "$work/gateway.log" 2>&1 & gateway_pid=$!; pids+=($gateway_pid); pid_of[gateway]=$gateway_pid
# The same gateway with store-and-forward on the embedded SQLite store (OCP® healthy: nothing is parked,
# every event pays the key and conversation lookups and the batched key writes).
(cd "$work/gateway" && exec env "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY_SF" \
  Gateway__Delivery__Mode=StoreAndForward "${sf_store[@]}" \
  taskset -c "$SERVER_CPU" dotnet OcpTalkdesk.Gateway.dll) > "$work/gateway-sf.log" 2>&1 & pids+=($!); pid_of[gw-sf]=$!
# The same gateway with OpenTelemetry tracing on, exporting every span to the collector stand-in.
if [ "${TRACING:-0}" = 1 ]; then
  (cd "$work/gateway" && exec env "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY_TRACE" \
    OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$UPSTREAM" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
    taskset -c "$SERVER_CPU" dotnet OcpTalkdesk.Gateway.dll) > "$work/gateway-trace.log" 2>&1 & pids+=($!); pid_of[gw-trace]=$!
fi

# The target gw-b is paired with: the direct gateway, or with AB_MODE=StoreAndForward the store-and-forward one.
ab_pair=gateway ab_mode=()
if [ "${AB_MODE:-Direct}" = StoreAndForward ]; then
  ab_pair=gw-sf ab_mode=(Gateway__Delivery__Mode=StoreAndForward "${sf_store_b[@]}")
fi
if [ -n "${AB:-}" ]; then
  (cd "$work/gateway-b" && exec env "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY_B" "${ab_mode[@]}" \
    taskset -c "$SERVER_CPU" dotnet OcpTalkdesk.Gateway.dll) > "$work/gateway-b.log" 2>&1 & pids+=($!); pid_of[gw-b]=$!
fi

declare -A url=(
  [gateway]="http://127.0.0.1:$GATEWAY/talkdesk/events"
  [gw-sf]="http://127.0.0.1:$GATEWAY_SF/talkdesk/events"
  [gw-trace]="http://127.0.0.1:$GATEWAY_TRACE/talkdesk/events"
  [gw-b]="http://127.0.0.1:$GATEWAY_B/talkdesk/events"
  [bare]="http://127.0.0.1:$BARE/talkdesk/events"
  [nginx]="http://127.0.0.1:$NGINX/talkdesk/events"
)
targets=(gateway gw-sf bare nginx)
[ -n "${AB:-}" ] && targets+=(gw-b)
[ "${TRACING:-0}" = 1 ] && targets+=(gw-trace)

for target in "${targets[@]}"; do
  wait_for_200 "${url[$target]}" "$work/gateway.log"
done

# Prints "rps p50_ms p99_ms non2xx cpu_us" for one wrk run against a target; cpu_us is the server's own CPU
# time (user + system, from /proc) per request, steadier than throughput on a shared VM ("-" for nginx,
# whose workers are not the process started here).
run() {
  local pid=${pid_of[$2]:-} before=0 out
  [ -n "$pid" ] && before=$(cpu_ticks "$pid")
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${1}s" --latency -s "$work/post.lua" "${url[$2]}")
  local ticks=-1
  [ -n "$pid" ] && ticks=$(($(cpu_ticks "$pid") - before))
  echo "$out" | awk -v ticks="$ticks" -v hz="$(getconf CLK_TCK)" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%.0f %.3f %.3f %d %s\n", rps, p50, p99, bad + 0, ticks < 0 ? "-" : sprintf("%.1f", ticks / hz / n * 1e6) }'
}
rss_mb() { awk -v f="$2" '$1 == f ":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

start_scraper gateway gw-sf gw-trace gw-b
echo "== warm-up: ${WARMUP} s per target"
for target in "${targets[@]}"; do run "$WARMUP" "$target" >/dev/null; done

echo "== $ROUNDS interleaved rounds of ${DURATION} s, $CONNECTIONS connections, ~$(wc -c < bench/message_created_500b.json) B message_created"
printf '%-6s %-8s %10s %9s %9s %7s %9s %8s\n' round target rps p50_ms p99_ms non2xx rss_mb cpu_us
# Each round starts one target further on. The A/B pair always runs back to back, the working tree first in odd
# rounds and second in even ones: an A/A run (AB=HEAD) showed a target 8-12 % behind whenever it ran right after
# the other .NET gateway, so only a pair balanced over both orders compares the builds.
order_of() {
  local r=$1 others=() t i n
  for t in "${targets[@]}"; do [ "$t" = gw-b ] || others+=("$t"); done
  n=${#others[@]}
  order=()
  for i in $(seq 0 $((n - 1))); do
    t=${others[$(((i + r) % n))]}
    if [ "$t" = "$ab_pair" ] && [ -n "${AB:-}" ]; then
      if [ $((r % 2)) = 1 ]; then order+=("$ab_pair" gw-b); else order+=(gw-b "$ab_pair"); fi
    else
      order+=("$t")
    fi
  done
}
for round in $(seq 1 "$ROUNDS"); do
  order_of "$round"
  for target in "${order[@]}"; do
    read -r rps p50 p99 bad cpu < <(run "$DURATION" "$target")
    rss=-
    [ "$target" = gateway ] && rss=$(rss_mb "$gateway_pid" VmRSS)
    printf '%-6s %-8s %10s %9s %9s %7s %9s %8s\n' "$round" "$target" "$rps" "$p50" "$p99" "$bad" "$rss" "$cpu" | tee -a "$work/results"
  done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }
echo
echo "== medians over $ROUNDS rounds (range)"
printf '%-8s %18s %16s %16s %16s\n' target rps p50_ms p99_ms cpu_us
declare -A med_rps med_p99 med_cpu
for target in "${targets[@]}"; do
  col() { awk -v t="$target" -v c="$1" '$2 == t { print $c }' "$work/results"; }
  med_rps[$target]=$(col 3 | median); med_p99[$target]=$(col 5 | median)
  cpu="-"
  [ -n "${pid_of[$target]:-}" ] && med_cpu[$target]=$(col 8 | median) && cpu="${med_cpu[$target]} ($(col 8 | range))"
  printf '%-8s %8s (%s) %6s (%s) %6s (%s) %s\n' "$target" "${med_rps[$target]}" "$(col 3 | range)" \
    "$(col 4 | median)" "$(col 4 | range)" "${med_p99[$target]}" "$(col 5 | range)" "$cpu"
done
echo
awk -v gc="${med_cpu[gateway]}" -v bc="${med_cpu[bare]}" -v sc="${med_cpu[gw-sf]}" -v g="${med_rps[gateway]}" -v s="${med_rps[gw-sf]}" -v b="${med_rps[bare]}" -v n="${med_rps[nginx]}" -v gp="${med_p99[gateway]}" -v bp="${med_p99[bare]}" 'BEGIN {
  printf "CPU per event (primary):      gateway %.1f us, bare YARP %.1f us: +%.1f us (target <= +8); store-and-forward %.1f us\n", gc, bc, gc - bc, sc
  printf "store-and-forward/direct:     %.2f (target >= 0.90)\n", s / g
  printf "gateway/bare-YARP throughput: %.2f (target >= 0.90)\n", g / b
  printf "gateway/nginx throughput:     %.2f (target >= 0.50)\n", g / n
  printf "gateway/bare-YARP p99:        %.2f (target <= 1.20)\n", gp / bp
  printf "CPU per request, gateway/bare-YARP: %.2f; store-and-forward/direct: %.2f\n", gc / bc, sc / gc }'
if [ "${TRACING:-0}" = 1 ]; then
  med_trace=$(awk '$2 == "gw-trace" { print $3 }' "$work/results" | median)
  awk -v gc="${med_cpu[gateway]}" -v bc="${med_cpu[bare]}" -v sc="${med_cpu[gw-sf]}" -v g="${med_rps[gateway]}" -v t="$med_trace" 'BEGIN { printf "tracing on/off:               %.2f (%.1f us more CPU time per event on one core)\n", t / g, (1e6 / t - 1e6 / g) }'
fi
if [ -n "${AB:-}" ]; then
  # Paired by round (the two ran seconds apart): the working tree's figure over gw-b's in each round.
  echo
  # The geometric mean over an even number of rounds has each order equally often (use an even ROUNDS).
  echo "== A/B, working tree ($ab_pair) over gw-b ($AB), paired by round: geometric mean (range of the rounds)"
  for metric in "3 rps" "8 cpu_us" "5 p99_ms"; do
    read -r c name <<< "$metric"
    awk -v c="$c" -v t="$ab_pair" '$2 == t { a[$1] = $c } $2 == "gw-b" { b[$1] = $c } END { for (r in a) if (b[r] > 0) print a[r] / b[r] }' "$work/results" \
      | sort -g | awk -v name="$name" '{ v[NR] = $1; s += log($1) } END {
          printf "%-7s %.3f (%.3f-%.3f)%s\n", name, exp(s / NR), v[1], v[NR], (v[1] > 1 || v[NR] < 1) ? "  every round on one side" : "" }'
  done
fi
echo "gateway RSS now $(rss_mb "$gateway_pid" VmRSS) MB, peak $(rss_mb "$gateway_pid" VmHWM) MB (target <= 150)"

if [ "$SOAK" -gt 0 ]; then
  echo
  echo "== soak: gateway alone for $SOAK s, RSS every 30 s"
  for elapsed in $(seq 30 30 "$SOAK"); do
    read -r rps p50 p99 bad < <(run 30 gateway)
    echo "t=${elapsed}s rps=$rps p99_ms=$p99 non2xx=$bad rss_mb=$(rss_mb "$gateway_pid" VmRSS) peak_mb=$(rss_mb "$gateway_pid" VmHWM)"
  done
fi

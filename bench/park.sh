#!/usr/bin/env bash
# Outage capacity (issue #24): the events per second one gateway parks while OCP® refuses connections, on SQLite and
# on PostgreSQL (a throw-away local cluster), against direct mode with OCP® healthy, in interleaved rounds. Reports
# rps, p50/p99, CPU per event (the gateway's, and PostgreSQL's), events per commit (group commit) and bytes written
# for each target.
#   bash bench/park.sh                  # 4 rounds x 10 s per target, ~5 minutes
#   STORES=sqlite bash bench/park.sh    # without PostgreSQL
#   AB=<ref> bash bench/park.sh         # adds the parking gateways built from a git ref (park-b, park-pg-b)
#   bash bench/park.sh Gateway__Delivery__GroupCommitWindow=00:00:00.002   # settings for every parking gateway
#   PG_OPTIONS='Max Auto Prepare=20' bash bench/park.sh                    # added to the PostgreSQL connection string
#   PG_CORE=1 bash bench/park.sh        # PostgreSQL on wrk's core instead of the gateway's (as with a database host of its own)
# Servers (nginx, the gateways, PostgreSQL unless PG_CORE says otherwise) on core 0, wrk on core 1; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-32}
STORES=${STORES:-sqlite postgres}
UPSTREAM=18201 DIRECT=18202 PARK_SQLITE=18203 PARK_PG=18204 PARK_B=18205 PG_PORT=18210 REFUSED=18299
API_KEY=bench-inbound-key-0001
ensure_load_tools
start_work
echo "== building (Release)"
publish_gateways
[ -z "${AB:-}" ] || echo "park-b and park-pg-b are $(git rev-parse --short "$AB") ($AB); the others are the working tree"
write_upstream_conf
write_post_lua
export DOTNET_TC_CallCountingDelayMs=0 DOTNET_gcServer=0 DOTNET_CLI_TELEMETRY_OPTOUT=1
taskset -c 0 nginx -c "$work/upstream.conf" & pids+=($!)
declare -A url pid_of
gateway_env
start_gateway() { # name port folder settings...
  local name=$1 port=$2 folder=$3; shift 3
  (cd "$folder" && exec env "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$port" "$@" \
    taskset -c 0 dotnet OcpTalkdesk.Gateway.dll) > "$work/$name.log" 2>&1 & pids+=($!); pid_of[$name]=$!
  url[$name]="http://127.0.0.1:$port/talkdesk/events"
}
# Parking: OCP® is a port nothing listens on (connection refused at once); the breaker opens after its first ten
# failures, so from then on every event is parked without a forward, as during a real outage.
parking=(Gateway__Delivery__Mode=StoreAndForward ReverseProxy__Clusters__ocp__Destinations__primary__Address="http://127.0.0.1:$REFUSED/ocp")
start_gateway direct "$DIRECT" "$work/gateway"
targets=(direct)
if [[ " $STORES " == *" sqlite "* ]]; then
  start_gateway park-sqlite "$PARK_SQLITE" "$work/gateway" "${parking[@]}" ConnectionStrings__Delivery="Data Source=$work/deliveries.db" "$@"
  targets+=(park-sqlite)
  if [ -n "${AB:-}" ]; then
    start_gateway park-b "$PARK_B" "$work/gateway-b" "${parking[@]}" ConnectionStrings__Delivery="Data Source=$work/deliveries-b.db" "$@"
    targets+=(park-b)
  fi
fi
if [[ " $STORES " == *" postgres "* ]]; then
  PG_CPU=${PG_CORE:-0} start_postgres "$work/pg" "$PG_PORT"
  start_gateway park-pg "$PARK_PG" "$work/gateway" "${parking[@]}" Gateway__Delivery__Store=Postgres \
    ConnectionStrings__Delivery="Host=127.0.0.1;Port=$PG_PORT;Username=postgres${PG_OPTIONS:+;$PG_OPTIONS}" "$@"
  targets+=(park-pg)
  if [ -n "${AB:-}" ]; then
    # The other build on a database of its own in the same cluster.
    runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -q -h 127.0.0.1 -p "$PG_PORT" -c 'CREATE DATABASE park_b'
    start_gateway park-pg-b 18206 "$work/gateway-b" "${parking[@]}" Gateway__Delivery__Store=Postgres \
      ConnectionStrings__Delivery="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=park_b${PG_OPTIONS:+;$PG_OPTIONS}" "$@"
    targets+=(park-pg-b)
  fi
fi
for target in "${targets[@]}"; do
  code=""
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "${url[$target]}" -H 'Content-Type: application/json' \
      -H "X-API-Key: $API_KEY" --data-binary @bench/message_created_500b.json || true)
    [[ "$code" == 20[02] ]] && break
    sleep 0.2
  done
  [[ "$code" == 20[02] ]] || { echo "$target does not answer (got $code)"; cat "$work/$target.log"; exit 1; }
  taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" -s "$work/post.lua" "${url[$target]}" >/dev/null
done
start_scraper "${targets[@]}"
# Events per commit so far: sum and count of the park-batch histogram.
commits() { curl -s "${url[$1]%/talkdesk/events}/metrics" | awk '/^ocp_gateway_delivery_park_batch_events_sum/ { s = $2 } /^ocp_gateway_delivery_park_batch_events_count/ { c = $2 } END { printf "%d %d\n", s, c }'; }
# PostgreSQL's CPU ticks for a target parking into it, else 0.
db_ticks() { if [[ $1 == park-pg* ]]; then pg_ticks; else echo 0; fi; }
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) print v / 1000; else if (v ~ /ms$/) print v + 0; else print v * 1000 }'; }
for round in $(seq 1 "$ROUNDS"); do
  for i in $(seq 0 $((${#targets[@]} - 1))); do
    target=${targets[$(((i + round) % ${#targets[@]}))]}
    read -r s0 c0 < <(commits "$target")
    before=$(cpu_ticks "${pid_of[$target]}") written=$(disk_bytes "${pid_of[$target]}") db0=$(db_ticks "$target")
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/post.lua" "${url[$target]}")
    after=$(cpu_ticks "${pid_of[$target]}") written=$(($(disk_bytes "${pid_of[$target]}") - written)) db1=$(db_ticks "$target")
    read -r s1 c1 < <(commits "$target")
    rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
    n=$(echo "$out" | awk '/requests in/ { print $1 }')
    bad=$(echo "$out" | awk '/Non-2xx/ { print $5 }')
    p50=$(ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
    p99=$(ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    cpu=$(awk -v c=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { printf "%.1f", c / hz / n * 1e6 }')
    per=$(awk -v s=$((s1 - s0)) -v c=$((c1 - c0)) 'BEGIN { if (c > 0) printf "%.1f", s / c; else print "-" }')
    kb=$(awk -v w="$written" -v n="$n" 'BEGIN { printf "%.1f", w / n / 1024 }')
    db=$(awk -v c=$((db1 - db0)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { if (c > 0) printf "%.1f", c / hz / n * 1e6; else print "-" }')
    echo "$target $rps $p50 $p99 $cpu $per ${bad:-0} $kb $db" >> "$work/results"
    printf 'round %d %-12s %8.0f rps  p50 %6.2f ms  p99 %7.2f ms  %6s us CPU/event  %6s us PostgreSQL/event  %5s events/commit  %5s KB written/event  %s non-2xx\n' \
      "$round" "$target" "$rps" "$p50" "$p99" "$cpu" "$db" "$per" "$kb" "${bad:-0}"
  done
done
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%s", v[int((NR + 1) / 2)] }'; }
echo
printf '%-12s %-10s %-9s %-9s %-11s %-10s %-14s %-11s %s\n' target "rps" "p50 ms" "p99 ms" "CPU us/ev" "PG us/ev" "events/commit" "KB/event" "rps / direct"
direct=$(awk '$1 == "direct" { print $2 }' "$work/results" | median)
for target in "${targets[@]}"; do
  col() { awk -v t="$target" -v c="$1" '$1 == t { print $c }' "$work/results" | median; }
  rps=$(col 2)
  printf '%-12s %-10.0f %-9s %-9s %-11s %-10s %-14s %-11s %.2f\n' "$target" "$rps" "$(col 3)" "$(col 4)" "$(col 5)" "$(col 9)" "$(col 6)" "$(col 8)" \
    "$(awk -v a="$rps" -v b="$direct" 'BEGIN { print a / b }')"
done

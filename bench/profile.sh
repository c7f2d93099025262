#!/usr/bin/env bash
# CPU profile of the gateway under load (issue #12): the published gateway (all features, Direct mode)
# in front of nginx on core 0, wrk on core 1, `perf record` of the gateway with the runtime's perf map.
#   bash bench/profile.sh              # 20 s; prints the top frames by self and inclusive share
#   MODE=StoreAndForward bash bench/profile.sh
#   TARGET=bare bash bench/profile.sh  # bench/BareYarp instead, for a side-by-side of the same frames
#   MODE=StoreAndForward bash bench/profile.sh ReverseProxy__Clusters__ocp__Destinations__primary__Address=http://127.0.0.1:18299/ocp
#                                      # parking (OCP® refusing); extra arguments are settings for the gateway
#   STORE=postgres MODE=StoreAndForward bash bench/profile.sh ReverseProxy__...=http://127.0.0.1:18299/ocp
#                                      # parking into PostgreSQL (a throw-away cluster on wrk's core)
# Needs perf (Debian's linux-perf), wrk and nginx; every process started here is stopped on exit. ReadyToRun is
# off so every frame (framework code too) is JIT-compiled and named in the runtime's perf map, and W^X is
# off so that JIT code lives in anonymous memory, where perf looks names up in the map.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
DURATION=${DURATION:-20}
MODE=${MODE:-Direct}
UPSTREAM=18091 GATEWAY=18094 API_KEY=bench-inbound-key-0001
start_work
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
write_upstream_conf
write_post_lua
gateway_env
store=(ConnectionStrings__Delivery="Data Source=$work/deliveries.db")
if [ "${STORE:-sqlite}" = postgres ]; then
  PG_CPU=1 start_postgres "$work/pg" 18096
  store=(Gateway__Delivery__Store=Postgres ConnectionStrings__Delivery="Host=127.0.0.1;Port=18096;Username=postgres")
fi
taskset -c 0 nginx -c "$work/upstream.conf" & pids+=($!)
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0 DOTNET_TC_CallCountingDelayMs=0 DOTNET_gcServer=0
if [ "${TARGET:-gateway}" = bare ]; then
  dotnet publish bench/BareYarp/BareYarp.csproj -c Release -o "$work/bare" >/dev/null
  start_bare_yarp "$GATEWAY"; gateway_pid=${pids[-1]}; cp "$work/bare.log" "$work/gateway.log"
else
  (cd "$work/gateway" && exec env "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY" Gateway__Delivery__Mode="$MODE" \
    "${store[@]}" "$@" taskset -c 0 dotnet OcpTalkdesk.Gateway.dll) > "$work/gateway.log" 2>&1 & gateway_pid=$!; pids+=($gateway_pid)
fi
url="http://127.0.0.1:$GATEWAY/talkdesk/events"
wait_for_200 "$url" "$work/gateway.log"
taskset -c 1 wrk -t1 -c32 -d10s -s "$work/post.lua" "$url" >/dev/null   # warm-up
taskset -c 1 wrk -t1 -c32 -d"$((DURATION + 2))s" -s "$work/post.lua" "$url" > "$work/wrk.txt" &
wrk_pid=$!
perf record -F 999 -g -p "$gateway_pid" -o "$work/perf.data" -- sleep "$DURATION" >/dev/null 2>&1
wait "$wrk_pid"
grep -E "Requests/sec" "$work/wrk.txt"
# KEEP=file keeps the recording (with the perf map it needs) for `perf report -i file` afterwards.
if [ -n "${KEEP:-}" ]; then cp "$work/perf.data" "$KEEP"; cp /tmp/perf-"$gateway_pid".map "$KEEP.map" 2>/dev/null || true; fi
# CPU per request: perf samples at 999 Hz over the recording, over the requests wrk counted in it.
samples=$(perf report -i "$work/perf.data" --stdio -n --no-children --sort dso -g none 2>/dev/null | awk '/^ +[0-9.]+%/ { n += $2 } END { print n }')
rps=$(awk '/Requests\/sec/ { print $2 }' "$work/wrk.txt")
awk -v s="$samples" -v r="$rps" -v d="$DURATION" 'BEGIN { printf "CPU per request: %.1f us (%s samples over %s s at %s rps)\n", s / 999 / d / r * 1e6, s, d, r }'
echo "== samples by module"
perf report -i "$work/perf.data" --no-children --sort dso -g none --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -15 || true
echo "== self CPU per request by assembly (managed) or module (native), us"
perf report -i "$work/perf.data" --no-children --sort dso,symbol -g none --stdio -n 2>/dev/null \
  | awk -v s="$samples" -v r="$rps" -v d="$DURATION" '/^ +[0-9.]+%/ {
      n = $2; key = $3
      if (index($0, "[k] ") > 0) { key = "kernel" }
      else if (index($0, "[.] ") > 0) {
        rest = substr($0, index($0, "[.] ") + 4)
        if (match(rest, /\[[A-Za-z][A-Za-z0-9._]*\]/)) { key = substr(rest, RSTART + 1, RLENGTH - 2) }
      }
      t[key] += n }
    END { for (k in t) printf "%8.2f  %s\n", t[k] / 999 / d / r * 1e6, k }' | sort -rn | head -25 || true
echo "== top frames by self share"
perf report -i "$work/perf.data" --no-children --sort symbol -g none --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -40 || true
echo "== top frames by inclusive share (managed)"
perf report -i "$work/perf.data" --children --sort symbol -g none --stdio 2>/dev/null | grep -E "^ +[0-9]" | grep -E "\[\.\] .*(OcpTalkdesk|Yarp|Microsoft\.AspNetCore|Prometheus|System\.Net)" | head -80 || true

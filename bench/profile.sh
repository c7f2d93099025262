#!/usr/bin/env bash
# CPU profile of the gateway under load (issue #12): the published gateway (all features, Direct mode)
# in front of nginx on core 0, wrk on core 1, `perf record` of the gateway with the runtime's perf map.
#   bash bench/profile.sh              # 20 s; prints the top frames by self and inclusive share
#   MODE=StoreAndForward bash bench/profile.sh
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
taskset -c 0 nginx -c "$work/upstream.conf" & pids+=($!)
(cd "$work/gateway" && exec env DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0 DOTNET_TC_CallCountingDelayMs=0 DOTNET_gcServer=0 \
  "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY" Gateway__Delivery__Mode="$MODE" ConnectionStrings__Delivery="Data Source=$work/deliveries.db" \
  taskset -c 0 dotnet OcpTalkdesk.Gateway.dll) > "$work/gateway.log" 2>&1 & gateway_pid=$!; pids+=($gateway_pid)
url="http://127.0.0.1:$GATEWAY/talkdesk/events"
wait_for_200 "$url" "$work/gateway.log"
taskset -c 1 wrk -t1 -c32 -d10s -s "$work/post.lua" "$url" >/dev/null   # warm-up
taskset -c 1 wrk -t1 -c32 -d"$((DURATION + 2))s" -s "$work/post.lua" "$url" > "$work/wrk.txt" &
wrk_pid=$!
perf record -F 999 -g -p "$gateway_pid" -o "$work/perf.data" -- sleep "$DURATION" >/dev/null 2>&1
wait "$wrk_pid"
grep -E "Requests/sec" "$work/wrk.txt"
echo "== top frames by self share"
perf report -i "$work/perf.data" --no-children --sort symbol -g none --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -40 || true
echo "== top frames by inclusive share (managed)"
perf report -i "$work/perf.data" --children --sort symbol -g none --stdio 2>/dev/null | grep -E "^ +[0-9]" | grep -E "\[\.\] .*(OcpTalkdesk|Yarp|Microsoft\.AspNetCore|Prometheus|System\.Net)" | head -80 || true

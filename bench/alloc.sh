#!/usr/bin/env bash
# Allocation per forwarded event (issue #12): the published gateway under wrk (servers on core 0, wrk on
# core 1) with dotnet-counters reading the runtime's dotnet.gc.heap.total_allocated rate; bytes per event
# = the rate / wrk's requests per second.
#   bash bench/alloc.sh                     # Direct mode
#   MODE=StoreAndForward bash bench/alloc.sh
# Needs wrk, nginx and the dotnet-counters tool (installed into a temp folder here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
UPSTREAM=18121 GATEWAY=18124 API_KEY=bench-inbound-key-0001
start_work
counters=$(command -v dotnet-counters || true)
if [ -z "$counters" ]; then
  dotnet tool install --tool-path "$work/tools" dotnet-counters >/dev/null
  counters="$work/tools/dotnet-counters"
fi
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
write_upstream_conf; write_post_lua; gateway_env
taskset -c 0 nginx -c "$work/upstream.conf" & pids+=($!)
(cd "$work/gateway" && exec env DOTNET_TC_CallCountingDelayMs=0 DOTNET_gcServer=0 "${gateway_env[@]}" ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY" Gateway__Delivery__Mode="${MODE:-Direct}" ConnectionStrings__Delivery="Data Source=$work/d.db" taskset -c 0 dotnet OcpTalkdesk.Gateway.dll) > "$work/gw.log" 2>&1 & gpid=$!; pids+=($gpid)
url="http://127.0.0.1:$GATEWAY/talkdesk/events"
wait_for_200 "$url" "$work/gw.log"
taskset -c 1 wrk -t1 -c32 -d10s -s "$work/post.lua" "$url" >/dev/null
taskset -c 1 wrk -t1 -c32 -d25s -s "$work/post.lua" "$url" > "$work/wrk.txt" &
wpid=$!
sleep 3
"$counters" collect -p "$gpid" --counters System.Runtime --format csv -o "$work/c.csv" --refresh-interval 5 --duration 00:00:20 >/dev/null 2>&1 || true
wait $wpid
rps=$(awk '/Requests\/sec/ { print $2 }' "$work/wrk.txt")
echo "requests/s: $rps"
awk -F, -v rps="$rps" '/total_allocated/ { printf "allocated: %.0f B/s, %.1f KB per event\n", $5 / 5, $5 / 5 / rps / 1024 }' "$work/c.csv"

#!/usr/bin/env bash
# CPU profile of the gateway under load (issue #12): the published gateway (all features, Direct mode)
# in front of nginx on core 0, wrk on core 1, `perf record` of the gateway with the runtime's perf map.
#   bash bench/profile.sh              # 20 s; prints the top frames by self and inclusive share
#   MODE=StoreAndForward bash bench/profile.sh
# Needs perf (Debian's linux-perf), wrk and nginx; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-20}
MODE=${MODE:-Direct}
UPSTREAM=18091 GATEWAY=18094 API_KEY=bench-inbound-key-0001
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
cat > "$work/upstream.conf" <<NGINX
worker_processes 1; daemon off; pid $work/upstream.pid; error_log $work/upstream-error.log;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UPSTREAM; keepalive_requests 1000000;
  location = /ocp { default_type application/json; return 200 '{"accepted":true}'; }
  location = /token { default_type application/json; return 200 '{"access_token":"bench-token","token_type":"Bearer","expires_in":3600}'; } } }
NGINX
sed "s/bench-inbound-key-0001/$API_KEY/" > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "bench-inbound-key-0001"
local f = io.open("bench/message_created_500b.json", "rb")
local template = f:read("*a"):gsub("%s+$", "")
f:close()
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, (template:gsub("msg%-0001", string.format("msg-%08d", n), 1)))
end
LUA
taskset -c 0 nginx -c "$work/upstream.conf" & pids+=($!)
(cd "$work/gateway" && exec env DOTNET_PerfMapEnabled=1 DOTNET_TC_CallCountingDelayMs=0 DOTNET_gcServer=0 \
  ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning Gateway__ManagementPort=0 ASPNETCORE_URLS="http://127.0.0.1:$GATEWAY" \
  ReverseProxy__Clusters__ocp__Destinations__primary__Address="http://127.0.0.1:$UPSTREAM/ocp" \
  Gateway__TokenClients__ocp__TokenEndpoint="http://127.0.0.1:$UPSTREAM/token" Gateway__TokenClients__ocp__ClientId=bench \
  Gateway__TokenClients__ocp__ClientSecret=bench-secret Gateway__InboundAuth__talkdesk__ApiKeys__0="$API_KEY" \
  Gateway__Delivery__Mode="$MODE" ConnectionStrings__Delivery="Data Source=$work/deliveries.db" \
  taskset -c 0 dotnet OcpTalkdesk.Gateway.dll) > "$work/gateway.log" 2>&1 & gateway_pid=$!; pids+=($gateway_pid)
for _ in $(seq 1 100); do
  curl -s -o /dev/null -X POST "http://127.0.0.1:$GATEWAY/talkdesk/events" -H 'Content-Type: application/json' \
    -H "X-API-Key: $API_KEY" --data-binary @bench/message_created_500b.json && break
  sleep 0.2
done
url="http://127.0.0.1:$GATEWAY/talkdesk/events"
taskset -c 1 wrk -t1 -c32 -d10s -s "$work/post.lua" "$url" >/dev/null   # warm-up
taskset -c 1 wrk -t1 -c32 -d"$((DURATION + 2))s" -s "$work/post.lua" "$url" > "$work/wrk.txt" &
wrk_pid=$!
perf record -F 999 -g -p "$gateway_pid" -o "$work/perf.data" -- sleep "$DURATION" >/dev/null 2>&1
wait "$wrk_pid"
grep -E "Requests/sec" "$work/wrk.txt"
echo "== top frames by self share"
perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -40
echo "== top frames by inclusive share (managed)"
perf report -i "$work/perf.data" --children --sort symbol --stdio 2>/dev/null | grep -E "^ +[0-9]" | grep -E "\[\.\] .*(OcpTalkdesk|Yarp|Microsoft\.AspNetCore|Prometheus|System\.Net)" | head -60

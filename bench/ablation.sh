#!/usr/bin/env bash
# Where the gateway's cost per event goes (issue #12): the same published gateway with one feature
# switched off at a time (by configuration only), bare YARP beside it, in interleaved wrk rounds.
#   bash bench/ablation.sh                 # 3 rounds of 10 s per variant
#   SET=runtime bash bench/ablation.sh     # server GC, TieredPGO off, non-concurrent GC instead
# Servers on core 0, wrk on core 1; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
UPSTREAM=18101 BARE=18102 API_KEY=bench-inbound-key-0001
start_work
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet publish bench/BareYarp/BareYarp.csproj -c Release -o "$work/bare" >/dev/null
write_upstream_conf
write_post_lua
export DOTNET_TC_CallCountingDelayMs=0 DOTNET_gcServer=0 DOTNET_CLI_TELEMETRY_OPTOUT=1
taskset -c 0 nginx -c "$work/upstream.conf" & pids+=($!)
start_bare_yarp "$BARE"
gateway_env
declare -A variant=(
  [full]=""
  [no-auth]="Gateway__InboundAuth__talkdesk__Type=None"
  [no-token]="ReverseProxy__Clusters__ocp__Metadata__TokenClient="
  [no-valid]="ReverseProxy__Routes__talkdesk-events__Metadata__TalkdeskActions=false"
  [none]="Gateway__InboundAuth__talkdesk__Type=None ReverseProxy__Clusters__ocp__Metadata__TokenClient= ReverseProxy__Routes__talkdesk-events__Metadata__TalkdeskActions=false"
  [server-gc]="DOTNET_gcServer=1"
  [no-pgo]="DOTNET_TieredPGO=0"
  [gc-nonconcurrent]="DOTNET_gcConcurrent=0"
)
names=(full no-auth no-token no-valid none)
# SET=runtime: the runtime settings instead of the features (docs/decisions/0003-runtime-settings.md).
[ "${SET:-features}" = runtime ] && names=(full server-gc no-pgo gc-nonconcurrent)
declare -A url=([bare]="http://127.0.0.1:$BARE/talkdesk/events")
port=18110
for name in "${names[@]}"; do
  port=$((port + 1))
  # shellcheck disable=SC2086
  (cd "$work/gateway" && exec env "${gateway_env[@]}" ${variant[$name]} ASPNETCORE_URLS="http://127.0.0.1:$port" \
    taskset -c 0 dotnet OcpTalkdesk.Gateway.dll) > "$work/$name.log" 2>&1 & pids+=($!)
  url[$name]="http://127.0.0.1:$port/talkdesk/events"
done
targets=("${names[@]}" bare)
for target in "${targets[@]}"; do
  wait_for_200 "${url[$target]}" "$work/$target.log"
  taskset -c 1 wrk -t1 -c32 -d"${WARMUP:-10}s" -s "$work/post.lua" "${url[$target]}" >/dev/null
done
printf '%-9s %s\n' target "rps per round"
for round in $(seq 1 "$ROUNDS"); do
  for target in "${targets[@]}"; do
    rps=$(taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" -s "$work/post.lua" "${url[$target]}" | awk '/Requests\/sec/ { printf "%.0f", $2 }')
    echo "$target $rps" >> "$work/results"
  done
done
for target in "${targets[@]}"; do
  printf '%-9s %s\n' "$target" "$(awk -v t="$target" '$1 == t { printf "%s ", $2 }' "$work/results")"
done

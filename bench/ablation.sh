#!/usr/bin/env bash
# Where the gateway's cost per event goes (issue #12): the same published gateway with one feature
# switched off at a time (by configuration only), bare YARP beside it, in interleaved wrk rounds.
#   bash bench/ablation.sh                 # 3 rounds of 10 s per variant
#   SET=framework bash bench/ablation.sh   # bare YARP plus ASP.NET Core's own middleware, one at a time and all
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
# SET=framework: bare YARP plus only ASP.NET Core's standard middleware the gateway runs, one at a time and all.
declare -A url=([bare]="http://127.0.0.1:$BARE/talkdesk/events") pid_of=([bare]=${pids[-1]})
bares=()
if [ "${SET:-features}" = framework ]; then
  port=$((BARE + 100))
  for middleware in exceptions statuspages timeouts forwarded auth all; do
    port=$((port + 1))
    start_bare_yarp "$port" "bare+$middleware" --Middleware="$middleware"; pid_of[bare+$middleware]=${pids[-1]}
    url[bare+$middleware]="http://127.0.0.1:$port/talkdesk/events"
    bares+=("bare+$middleware")
  done
fi
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
[ "${SET:-features}" = framework ] && names=(full none)
port=18110
for name in "${names[@]}"; do
  port=$((port + 1))
  # shellcheck disable=SC2086
  (cd "$work/gateway" && exec env "${gateway_env[@]}" ${variant[$name]} ASPNETCORE_URLS="http://127.0.0.1:$port" \
    taskset -c 0 dotnet OcpTalkdesk.Gateway.dll) > "$work/$name.log" 2>&1 & pids+=($!); pid_of[$name]=$!
  url[$name]="http://127.0.0.1:$port/talkdesk/events"
done
targets=("${names[@]}" "${bares[@]}" bare)
for target in "${targets[@]}"; do
  wait_for_200 "${url[$target]}" "$work/$target.log"
  taskset -c 1 wrk -t1 -c32 -d"${WARMUP:-10}s" -s "$work/post.lua" "${url[$target]}" >/dev/null
done
# Throughput moves with whatever else this shared VM runs; the server's own CPU time per request
# (user + system, from /proc) moves far less, so both are printed.
for round in $(seq 1 "$ROUNDS"); do
  for target in "${targets[@]}"; do
    before=$(cpu_ticks "${pid_of[$target]}")
    out=$(taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" -s "$work/post.lua" "${url[$target]}")
    after=$(cpu_ticks "${pid_of[$target]}")
    echo "$out" | awk -v t="$target" -v c=$((after - before)) -v hz="$(getconf CLK_TCK)" \
      '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 } END { printf "%s %.0f %.1f\n", t, r, c / hz / n * 1e6 }' >> "$work/results"
  done
done
printf '%-17s %-24s %s\n' target "rps per round" "CPU us per request (median)"
for target in "${targets[@]}"; do
  printf '%-17s %-24s %s\n' "$target" "$(awk -v t="$target" '$1 == t { printf "%s ", $2 }' "$work/results")" \
    "$(awk -v t="$target" '$1 == t { print $3 }' "$work/results" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f (", v[int((NR + 1) / 2)]; for (i = 1; i <= NR; i++) printf "%s%s", v[i], i < NR ? " " : ")" }')"
done

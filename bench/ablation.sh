#!/usr/bin/env bash
# Where the gateway's cost per event goes (issue #12): the same published gateway with one feature
# switched off at a time (by configuration only), bare YARP beside it, in interleaved wrk rounds.
#   bash bench/ablation.sh                 # 4 rounds of 10 s per variant, the order rotating each round
#   SET=framework bash bench/ablation.sh   # bare YARP plus ASP.NET Core's own middleware, one at a time and all
#   SET=runtime bash bench/ablation.sh     # server GC, TieredPGO off, non-concurrent GC instead
# Servers on core 0, wrk on core 1; every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
ROUNDS=${ROUNDS:-4}
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
  # Added rather than taken away: the API key configured as its SHA-256 (hashed per call), store-and-forward
  # on the embedded SQLite store with OCP® healthy.
  [sha256-key]="Gateway__InboundAuth__talkdesk__ApiKeys__0=sha256:1733687977cefeb9a7337921633fd2507fe6c3374308cbd0f01dbd26cf3415b4"
  [store-forward]="Gateway__Delivery__Mode=StoreAndForward ConnectionStrings__Delivery=DataSource=$work/deliveries.db"
  [server-gc]="DOTNET_gcServer=1"
  [no-pgo]="DOTNET_TieredPGO=0"
  [gc-nonconcurrent]="DOTNET_gcConcurrent=0"
)
names=(full no-auth no-token no-valid none sha256-key store-forward)
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
start_scraper "${names[@]}"
# Throughput moves with whatever else this shared VM runs; the server's own CPU time per request
# (user + system, from /proc) moves far less, so both are printed. Each round starts one target further
# on: a target run right after another .NET server is several per cent behind (bench/load.sh's A/A run).
for round in $(seq 1 "$ROUNDS"); do
  for i in $(seq 0 $((${#targets[@]} - 1))); do
    target=${targets[$(((i + round) % ${#targets[@]}))]}
    before=$(cpu_ticks "${pid_of[$target]}")
    out=$(taskset -c 1 wrk -t1 -c32 -d"${DURATION}s" -s "$work/post.lua" "${url[$target]}")
    after=$(cpu_ticks "${pid_of[$target]}")
    echo "$out" | awk -v t="$target" -v c=$((after - before)) -v hz="$(getconf CLK_TCK)" \
      '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 } END { printf "%s %.0f %.1f\n", t, r, c / hz / n * 1e6 }' >> "$work/results"
  done
done
printf '%-17s %-36s %s\n' target "rps per round (in run order)" "CPU us per request: median (per round, sorted)"
for target in "${targets[@]}"; do
  printf '%-17s %-36s %s\n' "$target" "$(awk -v t="$target" '$1 == t { printf "%s ", $2 }' "$work/results")" \
    "$(awk -v t="$target" '$1 == t { print $3 }' "$work/results" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f (", v[int((NR + 1) / 2)]; for (i = 1; i <= NR; i++) printf "%s%s", v[i], i < NR ? " " : ")" }')"
done

#!/usr/bin/env bash
# The drain after an outage (issue #21): BACKLOG parked events (default 3000, over 300 conversations) drain into a
# stand-in that serves 16 in flight or 400/s and answers 429 (Retry-After: 1) above that, while live events arrive at
# ~20/s. Reports the parking rate, the delivered rate, the share of 429s, live answer and first-delivery times.
# Not part of the tests.
#   bash bench/drain.sh
#   BACKLOG=10000 bash bench/drain.sh Gateway__Delivery__MaxRedeliveryRate=300
#   STANDIN=unlimited BACKLOG=100000 bash bench/drain.sh                  # issue #24: the stand-in takes everything at once
#   STORE=postgres STANDIN=unlimited BACKLOG=100000 bash bench/drain.sh   # the same on a throw-away PostgreSQL cluster
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/common.sh
source bench/common.sh
STORE=${STORE:-sqlite}
work=$(mktemp -d)
trap 'stop_postgres; rm -rf "$work"' EXIT
if [ "$STORE" = postgres ]; then
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  start_postgres "$work/pg" "$port"
  export GATEWAY_SOAK_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres"
fi
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet build bench/Soak/Soak.csproj -c Release >/dev/null
dotnet run -c Release --no-build --project bench/Soak -- drain "$work/gateway" "${BACKLOG:-3000}" "$@"

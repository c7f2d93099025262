#!/usr/bin/env bash
# Store-and-forward soak (issue #11): EVENTS events over CONVERSATIONS conversations through the
# published gateway in StoreAndForward mode while the stand-in OCP® goes down twice, one gateway killed
# with SIGKILL mid-outage and restarted; then checks 0 lost, 0 out of order, one key per event.
#   bash bench/soak-delivery.sh                       # SQLite, one replica, 100 000 events
#   STORE=postgres bash bench/soak-delivery.sh        # PostgreSQL, two replicas, events round-robin (a throw-away cluster)
#   STORE=postgres REPLICAS=3 bash bench/soak-delivery.sh
#   EVENTS=20000 CONVERSATIONS=200 bash bench/soak-delivery.sh
# Loopback only; every process started here is stopped on exit. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-100000}
CONVERSATIONS=${CONVERSATIONS:-500}
STORE=${STORE:-sqlite}
# shellcheck source=bench/common.sh
source bench/common.sh
work=$(mktemp -d)
trap 'stop_postgres; rm -rf "$work"' EXIT
if [ "$STORE" = postgres ]; then
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  start_postgres "$work/pg" "$port" -c max_connections=300
  export GATEWAY_SOAK_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres"
fi
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet build bench/Soak/Soak.csproj -c Release >/dev/null
dotnet run -c Release --no-build --project bench/Soak -- delivery "$work/gateway" "$EVENTS" "$CONVERSATIONS" "$STORE"

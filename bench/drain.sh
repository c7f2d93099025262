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
STORE=${STORE:-sqlite}
work=$(mktemp -d)
pg_bin=""
cleanup() {
  if [ -n "$pg_bin" ]; then runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ "$STORE" = postgres ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$pg_bin" ] || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); }
  mkdir -p "$work/pg" && chown postgres:postgres "$work/pg" && chmod 755 "$work"
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  # Default durability (fsync, synchronous_commit on), as in production.
  runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w -o "-p $port -k $work/pg -c listen_addresses=127.0.0.1" start >/dev/null
  export GATEWAY_SOAK_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres"
fi
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet build bench/Soak/Soak.csproj -c Release >/dev/null
dotnet run -c Release --no-build --project bench/Soak -- drain "$work/gateway" "${BACKLOG:-3000}" "$@"

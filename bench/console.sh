#!/usr/bin/env bash
# The console's pages under a backlog (issue #22): HELD parked events (default 10000) over CONVERSATIONS conversations
# (default 2000), OCP® down; each page fetched 50 times by a signed-in client, time to the last byte reported.
# Target: every page under 200 ms. Not part of the tests.
#   bash bench/console.sh
#   HELD=50000 CONVERSATIONS=10000 bash bench/console.sh
#   bash bench/console.sh Gateway__Delivery__Store=Postgres 'ConnectionStrings__Delivery=Host=127.0.0.1;Port=5432;Username=postgres'
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet build bench/Soak/Soak.csproj -c Release >/dev/null
dotnet run -c Release --no-build --project bench/Soak -- console "$work/gateway" "${HELD:-10000}" "${CONVERSATIONS:-2000}" "$@"

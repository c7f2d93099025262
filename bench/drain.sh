#!/usr/bin/env bash
# The drain after an outage (issue #21): BACKLOG parked events (default 3000, over 300 conversations) drain into a
# stand-in that serves 16 in flight or 400/s and answers 429 (Retry-After: 1) above that, while live events arrive at
# ~20/s. Reports the delivered rate, the share of 429s, live answer and first-delivery times. Not part of the tests.
#   bash bench/drain.sh
#   BACKLOG=10000 bash bench/drain.sh Gateway__Delivery__MaxRedeliveryRate=300
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet build bench/Soak/Soak.csproj -c Release >/dev/null
dotnet run -c Release --no-build --project bench/Soak -- drain "$work/gateway" "${BACKLOG:-3000}" "$@"

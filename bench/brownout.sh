#!/usr/bin/env bash
# OCP® brown-out (issue #21): OCP® hangs for STALL seconds (default 30) while events arrive at ~20/s;
# reports answer times before and after the circuit breaker opened, and the recovery. Not part of the tests.
#   bash bench/brownout.sh
#   STALL=60 bash bench/brownout.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet build bench/Soak/Soak.csproj -c Release >/dev/null
dotnet run -c Release --no-build --project bench/Soak -- brownout "$work/gateway" "${STALL:-30}"

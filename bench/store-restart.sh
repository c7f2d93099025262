#!/usr/bin/env bash
# The store restarted under a running gateway (issue #21): a throw-away PostgreSQL cluster (Debian's package, as
# .ci/run starts one) is stopped with `pg_ctl stop -m immediate` for 5 s while events arrive that OCP® refuses, then
# started again; reports how soon events are parked again. Not part of the tests. Run as root (it uses runuser).
#   bash bench/store-restart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
chmod 755 "$work"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkdir "$work/pg" && chown postgres:postgres "$work/pg"
pg() { runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" "$@" >/dev/null; }
runuser -u postgres -- "$pg_bin/initdb" -D "$work/pg/data" -A trust -U postgres --no-sync >/dev/null
start="runuser -u postgres -- $pg_bin/pg_ctl -D $work/pg/data -l $work/pg/log -w -t 60 -o '-p $pg_port -k $work/pg -c listen_addresses=127.0.0.1' start"
stop="runuser -u postgres -- $pg_bin/pg_ctl -D $work/pg/data -m immediate -w stop"
bash -c "$start" >/dev/null
trap 'pg -m immediate -w stop 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet publish src/Gateway/Gateway.csproj -c Release -o "$work/gateway" >/dev/null
dotnet build bench/Soak/Soak.csproj -c Release >/dev/null
dotnet run -c Release --no-build --project bench/Soak -- store-restart "$work/gateway" \
  "Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres" "$stop >/dev/null" "$start >/dev/null"

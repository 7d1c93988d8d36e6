#!/usr/bin/env bash
# A private PostgreSQL server for the distributed-search test, on 127.0.0.1 and an unused port.
#
#   bash .ci/postgres.sh            -> installs postgresql from Debian packages if missing, starts a
#                                      throwaway cluster, prints its URL as the LAST line of stdout
#   SCALESEARCH_TEST_PG_URL="$(bash .ci/postgres.sh | tail -n 1)" python -m pytest tests/search
#   bash .ci/postgres.sh stop       -> stops the cluster started by this script
#
# Everything but the URL goes to stderr. Trust authentication is safe only because the server listens
# on 127.0.0.1 alone and lives in a temporary folder; never point this script at a shared machine's data.
set -euo pipefail

PGDIR="${SCALESEARCH_PG_DIR:-/tmp/scalesearch-pg}"
DB=scalesearch

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BIN="$(find_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  log "installing postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN="$(find_bin)"
fi

# initdb refuses to run as root: run the server as the postgres user when we are root.
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

if [ "${1:-}" = stop ]; then
  [ -f "$PGDIR/data/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >&2 || true
  exit 0
fi

# Reuse a cluster this script already started (a second call in one CI job).
if [ -f "$PGDIR/url" ] && as_pg "$BIN/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
  log "already running"
  cat "$PGDIR/url"
  exit 0
fi

rm -rf "$PGDIR"
mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

log "initdb in $PGDIR/data"
as_pg "$BIN/initdb" -D "$PGDIR/data" -U postgres -A trust --no-sync -E UTF8 >"$PGDIR/initdb.log" 2>&1 \
  || { cat "$PGDIR/initdb.log" >&2; exit 1; }
log "starting on 127.0.0.1:$PORT"
as_pg "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $PORT -k $PGDIR -c fsync=off -c max_connections=100" start >&2 \
  || { cat "$PGDIR/server.log" >&2; exit 1; }
as_pg "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"

URL="postgresql://postgres@127.0.0.1:$PORT/$DB"
echo "$URL" >"$PGDIR/url"
echo "$URL"

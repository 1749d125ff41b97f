# Sourced by .ci/run: a throw-away PostgreSQL cluster for the judgements tests (tests/test_judgements_*.py).
#
#   source .ci/postgres.sh && start_test_postgres     # exports RETRIEVAL_TEST_PG_URL, stops the server on exit
#
# Debian's postgresql package (installed when missing), a new cluster (initdb) in a temp folder, listening on
# 127.0.0.1 and a free port only, trust authentication (nothing else can reach it; it is thrown away at the end).
# PostgreSQL refuses to run as root, so the cluster belongs to the package's `postgres` user, else to `nobody`.

start_test_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  local owner=postgres
  id -u "$owner" >/dev/null 2>&1 || owner=nobody
  local run=()
  if [ "$(id -u)" -eq 0 ]; then run=(runuser -u "$owner" --); fi
  PG_TEST_DIR=$(mktemp -d /tmp/retrieval-pg.XXXXXX)
  chmod 755 "$PG_TEST_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$owner" "$PG_TEST_DIR"
  local port
  port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${run[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U retrieval --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_TEST_DIR/initdb.log" 2>&1 \
    || { cat "$PG_TEST_DIR/initdb.log"; return 1; }
  "${run[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TEST_DIR" start >/dev/null \
    || { cat "$PG_TEST_DIR/server.log"; return 1; }
  PG_TEST_STOP=("${run[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop)
  trap stop_test_postgres EXIT
  export RETRIEVAL_TEST_PG_URL="postgresql://retrieval@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests: $RETRIEVAL_TEST_PG_URL (cluster in $PG_TEST_DIR)"
}

stop_test_postgres() {
  if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR" ]; then
    "${PG_TEST_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DIR"
  fi
}

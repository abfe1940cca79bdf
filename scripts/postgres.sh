#!/usr/bin/env bash
# Sourced by test.sh: start a throwaway PostgreSQL cluster on loopback for the store tests,
# export CASCADE_TEST_POSTGRES_URL, and stop and delete it when the shell exits.
# Installs Debian's postgresql when it is missing and we are root (CI is).

start_throwaway_postgres() {
  local bin dir port run
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "postgres: not installed and not root; PostgreSQL store tests will be skipped" >&2
      return 1
    fi
    echo "postgres: installing Debian's postgresql" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  dir="$(mktemp -d /tmp/cascade-pg.XXXXXX)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  run=()
  if [ "$(id -u)" = 0 ]; then  # the server refuses to run as root
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$dir"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U cascade -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; return 1; }
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null || {
    cat "$dir/server.log" >&2; return 1; }
  export CASCADE_TEST_POSTGRES_URL="postgresql+psycopg://cascade@127.0.0.1:$port/postgres"
  PG_STOP=("${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop)
  PG_DIR="$dir"
  trap 'stop_throwaway_postgres' EXIT
  echo "postgres: throwaway cluster on 127.0.0.1:$port" >&2
}

stop_throwaway_postgres() {
  "${PG_STOP[@]}" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}

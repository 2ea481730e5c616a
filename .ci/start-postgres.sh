#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on 127.0.0.1 for the test suite and print its URL.
# Usage: eval "$(.ci/start-postgres.sh)"   (exports SKINTRACK_TEST_PG_URL)
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then
  echo "echo 'PostgreSQL not installed: PostgreSQL tests will be skipped' >&2"
  exit 0
fi
port=${SKINTRACK_PG_PORT:-$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
dir=$(mktemp -d /tmp/skintrack-pg.XXXXXX)
chown postgres:postgres "$dir" 2>/dev/null || true
run() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
if ! { run "$bin/initdb -D $dir/data -U skintrack --auth=trust" >/dev/null &&
       run "$bin/pg_ctl -D $dir/data -o '-c listen_addresses=127.0.0.1 -p $port -k $dir' -l $dir/log -w start" >/dev/null &&
       run "$bin/createdb -h 127.0.0.1 -p $port -U skintrack skintrack_test"; }; then
  echo "echo 'PostgreSQL did not start (see $dir/log): PostgreSQL tests will be skipped' >&2"
  exit 0
fi
echo "export SKINTRACK_TEST_PG_URL=postgresql+psycopg://skintrack@127.0.0.1:$port/skintrack_test"
echo "export SKINTRACK_TEST_PG_DIR=$dir"

# Sourced by .ci/run: a throwaway PostgreSQL on a free loopback port for the tracker conformance suite.
# Installs Debian's postgresql package when its binaries are missing (CI runs as root on Debian), starts a cluster in
# a temp dir as the `postgres` user (initdb refuses root), creates a database, exports GANSTUDY_TEST_POSTGRES_URI,
# and stops the cluster and removes the dir on exit. Outside CI: `source .ci/postgres.sh` before `npm test`.

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(pg_bin_dir)" ]; then
  echo "[ci] installing PostgreSQL (Debian package postgresql)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
GANSTUDY_PG_BIN="$(pg_bin_dir)"
GANSTUDY_PG_DIR="$(mktemp -d /tmp/ganstudy-ci-postgres.XXXXXX)"
GANSTUDY_PG_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

[ "$(id -u)" = 0 ] && chown postgres "$GANSTUDY_PG_DIR"
as_postgres "'$GANSTUDY_PG_BIN/initdb' -D '$GANSTUDY_PG_DIR/data' -U postgres --auth=trust -E UTF8 >/dev/null"
as_postgres "'$GANSTUDY_PG_BIN/pg_ctl' -D '$GANSTUDY_PG_DIR/data' -l '$GANSTUDY_PG_DIR/log' -w \
  -o \"-c listen_addresses=127.0.0.1 -p $GANSTUDY_PG_PORT -k '$GANSTUDY_PG_DIR'\" start >/dev/null"
as_postgres "'$GANSTUDY_PG_BIN/createdb' -h 127.0.0.1 -p $GANSTUDY_PG_PORT -U postgres ganstudy_test"

stop_ci_postgres() {
  as_postgres "'$GANSTUDY_PG_BIN/pg_ctl' -D '$GANSTUDY_PG_DIR/data' -m fast -w stop >/dev/null" || true
  rm -rf "$GANSTUDY_PG_DIR"
}
trap stop_ci_postgres EXIT

export GANSTUDY_TEST_POSTGRES_URI="postgresql://postgres@127.0.0.1:$GANSTUDY_PG_PORT/ganstudy_test"
echo "[ci] PostgreSQL $("$GANSTUDY_PG_BIN/postgres" --version | awk '{print $3}') at $GANSTUDY_TEST_POSTGRES_URI"

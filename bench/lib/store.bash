# The store and the binary of a benchmark, sourced by bench/analytics-bench and bench/triage-bench
# (not run on its own).
#   bench_binary               sets $hm: HONEYMAN_BIN, or a Release build in BUILD_DIR
#                              (build/release)
#   bench_store_open STORE DIR sqlite: a database file in DIR; postgres: a database hm_bench_* on
#                              the server of HONEYMAN_TEST_POSTGRES_URL, or on a throwaway server
#                              (scripts/test-servers) under DIR. Exports DATABASE_URL.
#   bench_sql SQL              runs SQL on that database and prints the rows (unaligned)
#   bench_store_close          drops the PostgreSQL database and stops a throwaway server
bench_pg_servers= bench_pg_admin_url= bench_pg_db=

bench_binary() {
  if [[ -n ${HONEYMAN_BIN:-} ]]; then  # a binary built elsewhere (e.g. to try a script quickly)
    hm=$(realpath "$HONEYMAN_BIN")
    return
  fi
  local build=${BUILD_DIR:-build/release}
  scripts/install-deps --test >/dev/null
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONEYMAN_TESTS=OFF >/dev/null
  ninja -C "$build" honeyman >/dev/null
  hm="$PWD/$build/src/app/honeyman"
}

bench_store_open() {
  bench_store=$1
  case $1 in
    sqlite) export DATABASE_URL="sqlite:///$2/bench.db" ;;
    postgres)
      if [[ -z ${HONEYMAN_TEST_POSTGRES_URL:-} ]]; then
        bench_pg_servers="$2/servers"
        HONEYMAN_TEST_SERVERS_DIR=$bench_pg_servers scripts/test-servers start >&2
        set -a
        # shellcheck disable=SC1091
        source "$bench_pg_servers/env"
        set +a
      fi
      bench_pg_admin_url=${HONEYMAN_TEST_POSTGRES_URL%%,*}
      bench_pg_db="hm_bench_$$"
      psql "$bench_pg_admin_url" -qc "CREATE DATABASE $bench_pg_db" >/dev/null
      export DATABASE_URL="${bench_pg_admin_url%/*}/$bench_pg_db"
      ;;
    *) echo "STORE must be sqlite or postgres" >&2; exit 2 ;;
  esac
}

bench_sql() {
  if [[ $bench_store == postgres ]]; then
    psql "$DATABASE_URL" -Atqc "$1"
  else
    sqlite3 "${DATABASE_URL#sqlite:///}" "$1"
  fi
}

bench_store_close() {
  if [[ -n $bench_pg_db ]]; then
    psql "$bench_pg_admin_url" -qc "DROP DATABASE IF EXISTS $bench_pg_db" >/dev/null 2>&1 || true
  fi
  if [[ -n $bench_pg_servers ]]; then
    HONEYMAN_TEST_SERVERS_DIR=$bench_pg_servers scripts/test-servers stop >/dev/null 2>&1 || true
  fi
}

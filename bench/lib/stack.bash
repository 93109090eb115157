# The production-shaped stack of bench/chaos and bench/soak, sourced by both (not run on its own):
# the server on PostgreSQL 15 with Redis (scripts/test-servers) and Mosquitto
# (scripts/mosquitto-local), everything on 127.0.0.1 in one throwaway directory ($work), and the
# three loads: MQTT (`honeyman-load simulate`), HTTP (bench/lib/http_load.py, an agent posting
# batches) and WebSocket (`honeyman-load ws-load --reconnect`). Every threat names itself in its
# raw_data (`run` plus a sequence), so bench/lib/ledger.py can count the rows of each message.
# Each component can be killed and started again (kill_<name> SIGNAL / start_<name>).
# Knobs: BUILD_DIR (default build/release), SKIP_BUILD=1 (use the binaries there as they are),
# KEEP=1 (keep $work and its logs). Callers set RATE, SENSORS, HTTP_RATE, WS_CLIENTS.

stack_build() {
  build=${BUILD_DIR:-build/release}
  if [[ -z ${SKIP_BUILD:-} ]]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHONEYMAN_TESTS=OFF >/dev/null
    nice -n 5 ninja -C "$build" honeyman honeyman-load >/dev/null
  fi
  hm="$PWD/$build/src/app/honeyman"
  load_tool="$PWD/$build/tools/load/honeyman-load"
  [[ -x $hm && -x $load_tool ]] || { echo "$0: no binaries in $build" >&2; exit 1; }
}

stack_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

server_pid=''
bg_pids=()
stack_cleanup() {
  set +e
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
  [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
  wait 2>/dev/null
  scripts/mosquitto-local --stop "$work" >/dev/null 2>&1
  HONEYMAN_TEST_SERVERS_DIR="$work/servers" scripts/test-servers stop >/dev/null 2>&1
  if [[ -n ${KEEP:-} ]]; then echo "$0: kept $work" >&2; else rm -rf "$work"; fi
}

# Starts everything but the loads: servers, a migrated database, the bench admin, the HTTP
# sensor, the server, and the MQTT sensors onboarded through the API (publishing briefly).
stack_start() {
  work=$(mktemp -d "/tmp/honeyman-$1-XXXXXX")
  chmod 755 "$work"  # the throwaway PostgreSQL runs as user postgres below it
  trap stack_cleanup EXIT
  ulimit -n "$(ulimit -Hn)"
  port=$(stack_free_port)
  mqtt_port=$(stack_free_port)
  run="$1-$(date -u +%Y%m%dT%H%M%S)-$$"  # raw_data.run of this run's threats

  "$hm" init --data-dir "$work" --port "$port" >/dev/null
  scripts/mosquitto-local "$work" "$mqtt_port" >/dev/null 2>&1
  HONEYMAN_TEST_SERVERS_DIR="$work/servers" scripts/test-servers start >/dev/null
  local pg_server redis_url
  pg_server=$(sed -n 's/^HONEYMAN_TEST_POSTGRES_URL=//p' "$work/servers/env")
  redis_url=$(sed -n 's/^HONEYMAN_TEST_REDIS_URL=//p' "$work/servers/env")
  redis_port=${redis_url##*:}
  psql -q "$pg_server" -c "CREATE DATABASE honeyman"
  db_url=${pg_server%/postgres}/honeyman
  env_file="$work/.env"
  cat >>"$env_file" <<ENV
DATABASE_URL=$db_url
REDIS_URL=$redis_url
HOST=127.0.0.1
PUBLIC_API_URL=http://127.0.0.1:$port
RATE_LIMIT_ENABLED=false
LOG_LEVEL=warning
ACCESS_TOKEN_EXPIRE_MINUTES=600
ENV
  "$hm" --env-file "$env_file" migrate >/dev/null
  admin_password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
  echo "$admin_password" |
    "$hm" --env-file "$env_file" user add bench --role admin --password-stdin >/dev/null
  http_sensor=http-agent
  http_key=$("$hm" --env-file "$env_file" sensor add "$http_sensor" --name "HTTP agent" |
    sed -n 's/.*X-API-Key): //p')
  start_server
  echo "$0: onboarding $SENSORS MQTT sensors through the API" >&2
  HONEYMAN_ADMIN_PASSWORD=$admin_password "$load_tool" simulate --env-file "$env_file" \
    --admin bench --sensors "$SENSORS" --credentials "$work/sensors.json" \
    --api "http://127.0.0.1:$port" --rate 1 --duration 1 >/dev/null 2>"$work/onboard.err" ||
    { tail -5 "$work/onboard.err" >&2; exit 1; }
}

# --- each component: start_<name>, kill_<name> SIGNAL (KILL or TERM) ---------------------------
start_server() {
  "$hm" --env-file "$env_file" serve 2>>"$work/server.log" &
  server_pid=$!
  local _
  for _ in $(seq 600); do  # 60 s
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null && return 0
    sleep 0.1
  done
  echo "$0: the server did not become ready; tail of its log:" >&2
  tail -5 "$work/server.log" >&2
  exit 1
}
kill_server() {
  kill -"$1" "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

start_mosquitto() { scripts/mosquitto-local "$work" >/dev/null 2>&1; }
kill_mosquitto() {
  local pid
  pid=$(cat "$work/mosquitto/mosquitto.pid")
  kill -"$1" "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

pg_ctl_as_owner() {  # initdb made the cluster as user postgres when run as root
  local pg_ctl=${PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$pg_ctl" "$@"; else "$pg_ctl" "$@"; fi
}
start_postgres() {
  pg_ctl_as_owner -D "$work/servers/postgres/data" -l "$work/servers/postgres/server.log" -w \
    -t 60 start >/dev/null
}
kill_postgres() {  # KILL: a crash (immediate: no checkpoint, recovery at start); TERM: fast stop
  local mode=fast
  [[ $1 == KILL ]] && mode=immediate
  pg_ctl_as_owner -D "$work/servers/postgres/data" -m "$mode" -w stop >/dev/null
}

start_redis() {  # as scripts/test-servers starts it: no persistence, loopback
  local dir="$work/servers/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" --daemonize yes >/dev/null
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done
}
kill_redis() {
  local pid
  pid=$(cat "$work/servers/redis/redis.pid")
  kill -"$1" "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# --- the loads ---------------------------------------------------------------------------------
# Starts the three loads for $1 seconds in the background; their reports go to $work/*.out.
start_loads() {
  local seconds=$1
  HONEYMAN_ADMIN_PASSWORD=$admin_password "$load_tool" simulate --env-file "$env_file" \
    --admin bench --sensors "$SENSORS" --credentials "$work/sensors.json" \
    --api "http://127.0.0.1:$port" --rate "$RATE" --duration "$seconds" --run-id "$run" \
    --ack-wait 60 >"$work/simulate.out" 2>"$work/simulate.err" &
  sim_pid=$!
  python3 bench/lib/http_load.py --port "$port" --key "$http_key" --sensor "$http_sensor" \
    --run "$run" --rate "$HTTP_RATE" --duration "$seconds" --out "$work/http.json" \
    2>"$work/http.err" &
  http_pid=$!
  echo "$admin_password" | "$load_tool" ws-load --port "$port" --user bench \
    --clients "$WS_CLIENTS" --sources 1 --duration "$seconds" --reconnect \
    >"$work/ws.out" 2>"$work/ws.err" &
  ws_pid=$!
  bg_pids+=("$sim_pid" "$http_pid" "$ws_pid")
}
wait_loads() {
  wait "$sim_pid" || { echo "$0: simulate failed:" >&2; tail -3 "$work/simulate.err" >&2; }
  wait "$http_pid" || { echo "$0: the HTTP load failed:" >&2; tail -3 "$work/http.err" >&2; }
  wait "$ws_pid" || { echo "$0: ws-load failed:" >&2; tail -3 "$work/ws.err" >&2; }
}

stored_rows() { psql -X -At "$db_url" -c "SELECT count(*) FROM threats" 2>/dev/null; }

# Waits until the stored count has not moved for 6 s, at most $1 seconds.
drain() {
  local last=-1 now still=0 deadline=$((SECONDS + $1))
  while ((still < 6 && SECONDS < deadline)); do
    now=$(stored_rows || echo -1)
    if [[ $now == "$last" ]]; then still=$((still + 1)); else still=0; fi
    last=$now
    sleep 1
  done
}

machine() {
  echo "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(
    free -g | awk '/Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

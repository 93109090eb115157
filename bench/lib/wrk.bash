# wrk on loopback, parsed: sourced by the benchmarks (not run on its own).
#   bench_wrk CONNECTIONS URL [wrk options...]  -> prints "req/s p99_ms non2xx"
# One wrk thread per connection up to two (the machine's cores); DURATION seconds (default 10).
bench_wrk() {
  local connections=$1 url=$2 out
  shift 2
  out=$(wrk -t"$((connections < 2 ? connections : 2))" -c"$connections" -d"${DURATION:-10}s" \
    --latency "$@" "$url")
  local rps p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub("us","",v); v=v/1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v=v*1000}; print v}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  echo "$rps $p99 ${non2xx:-0}"
}

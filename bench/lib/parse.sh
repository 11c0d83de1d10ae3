# bench/lib/parse.sh: reads each generator's own report into the same variables. Sourced.
#
# After parse_<tool> FILE:
#   REQS   requests completed (responses + failures, as the tool counts them)
#   BAD    requests that failed or got a non-2xx status
#   RPS    requests per second, as the tool reports it
#   P50_MS, P99_MS   latency percentiles in milliseconds ("nan" when the tool gives none)

# wrk prints durations as 812.00us, 1.07ms or 1.20s.
wrk_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.4f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.4f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.4f", v * 60000 }
    else { sub(/s$/, "", v); printf "%.4f", v * 1000 } }'
}

parse_wrk() {
  local f=$1
  REQS=$(awk '/requests in/ { print $1 }' "$f")
  RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$f")
  BAD=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
             /Socket errors:/ { for (i = 4; i <= NF; i += 2) n += $i }
             END { print n + 0 }' "$f")
  P50_MS=nan
  P99_MS=nan
  if grep -q 'Latency Distribution' "$f"; then
    P50_MS=$(wrk_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
    P99_MS=$(wrk_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
  fi
  [ -n "$REQS" ] && [ -n "$RPS" ] || die "cannot read wrk's report $f"
}

parse_hey() {
  local f=$1
  RPS=$(awk '/Requests\/sec:/ { print $2 }' "$f")
  # Status lines look like "  [200]	100000 responses"; errors like "  [12]	Get ...: ...".
  local ok
  ok=$(awk '/^ *\[2[0-9][0-9]\]/ { n += $2 } END { print n + 0 }' "$f")
  REQS=$(awk '/^ *\[[0-9]+\]/ { n += $2 } END { print n + 0 }' "$f")
  BAD=$((REQS - ok))
  P50_MS=$(awk '$1 == "50%" && $2 == "in" { printf "%.4f", $3 * 1000 }' "$f")
  P99_MS=$(awk '$1 == "99%" && $2 == "in" { printf "%.4f", $3 * 1000 }' "$f")
  [ -n "$RPS" ] || die "cannot read hey's report $f"
}

# oha --output-format json: summary.requestsPerSec, latencyPercentiles in seconds,
# statusCodeDistribution and errorDistribution as maps of counts.
parse_oha() {
  local f=$1
  RPS=$(jq -r '.summary.requestsPerSec' "$f")
  local ok all errs
  ok=$(jq '[.statusCodeDistribution | to_entries[] | select(.key | startswith("2")) | .value] | add // 0' "$f")
  all=$(jq '[.statusCodeDistribution[]] | add // 0' "$f")
  errs=$(jq '[.errorDistribution[]?] | add // 0' "$f")
  REQS=$((all + errs))
  BAD=$((REQS - ok))
  P50_MS=$(jq -r '.latencyPercentiles.p50 * 1000' "$f")
  P99_MS=$(jq -r '.latencyPercentiles.p99 * 1000' "$f")
}

# loadgen --output json (schema: loadgen/schema/report.schema.json).
parse_loadgen() {
  local f=$1
  REQS=$(jq -r '.total.requests' "$f")
  RPS=$(jq -r '.total.rps' "$f")
  BAD=$(jq -r '.total.failures + ([.total.status_codes | to_entries[] | select(.key | startswith("2") | not) | .value] | add // 0)' "$f")
  P50_MS=$(jq -r '.total.latency.p50 * 1000' "$f")
  P99_MS=$(jq -r '.total.latency.p99 * 1000' "$f")
}

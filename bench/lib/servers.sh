# bench/lib/servers.sh: the sections that load a server with wrk and compare its throughput:
# mock-server against the ceiling, and mock-server with and without phase churn. Sourced.
#
# Both interleave their runs round by round and take the median of the per-round ratios, so a
# slow patch of a noisy machine lands on both sides of a ratio instead of on one.

# wrk_server OUT URL PID: one fixed-connection wrk run against the server PID; fills RPS,
# UTIL (the server's CPU seconds per wall second: ~1.0 means the server was the bottleneck) and
# US_PER_REQ (the server's CPU microseconds per request).
wrk_server() {
  local out=$1 url=$2 pid=$3 before cpu
  before=$(proc_cpu "$pid")
  gen wrk "$out" "$url" 0 "$CONNS" "$DURATION" || die "wrk failed against $url"
  cpu=$(calc "$(proc_cpu "$pid") - $before" 3)
  UTIL=$(calc "$cpu / $WALL" 2)
  US_PER_REQ=$(calc "$cpu / $REQS * 1000000" 2)
  [ "$BAD" -eq 0 ] || die "$url: $BAD of $REQS requests failed or were not 2xx (see $out.out)"
}

# throughput_verdict RATIO CPU_RATIO UTIL_A UTIL_B BOUND: a req/s ratio shows a server's
# efficiency only when the servers were saturated (about one core-second per second). When the
# machine's other work kept them below that, the ratio of their CPU per request (the inverse of
# what they would reach at saturation) is judged instead, and the verdict says so.
throughput_verdict() {
  local ratio=$1 cpu_ratio=$2 a=$3 b=$4 bound=$5
  if ge "$a" 0.9 && ge "$b" 0.9; then
    verdict "$ratio >= $bound"
  else
    echo "$(verdict "$cpu_ratio >= $bound") (by CPU/req $(calc "$cpu_ratio" 2)x: servers at $a, $b core)"
  fi
}

section_ceiling() {
  log "ceiling: wrk -t1 -c$CONNS -d${DURATION}s; ceiling vs mock-server GET /, ceiling vs GET /startup (same body); $ROUNDS rounds"
  local r path ceil_url ceil_pid bytes ratio
  for path in / /startup; do
    # The ceiling that answers with the same bytes as mock-server does on this path.
    if [ "$path" = / ]; then
      ceil_url=$CEIL_URL ceil_pid=$CEIL_PID bytes=5
    else
      ceil_url=$CEIL_STARTUP_URL ceil_pid=$CEIL_STARTUP_PID bytes=$(wc -c <"$OUT/body/startup.bin")
    fi
    local c_rps=() c_util=() c_us=() m_rps=() m_util=() m_us=() ratios=() cpu_ratios=()
    for r in $(seq "$ROUNDS"); do
      wrk_server "$OUT/ceiling${path//\//-}-r$r" "$ceil_url/" "$ceil_pid"
      c_rps+=("$RPS") c_util+=("$UTIL") c_us+=("$US_PER_REQ")
      wrk_server "$OUT/mock${path//\//-}-r$r" "$MOCK_URL$path" "$MOCK_PID"
      m_rps+=("$RPS") m_util+=("$UTIL") m_us+=("$US_PER_REQ")
      ratios+=("$(calc "$RPS / ${c_rps[-1]}" 3)")
      cpu_ratios+=("$(calc "${c_us[-1]} / $US_PER_REQ" 3)")
    done
    ratio=$(median "${ratios[@]}")
    row "mock-server GET $path ÷ ceiling, req/s (record mode, wrk -c$CONNS, same ${bytes}-byte body)" "$(calc "$ratio" 2)x" \
      ">= 0.85x" "$(throughput_verdict "$ratio" "$(median "${cpu_ratios[@]}")" "$(median "${m_util[@]}")" "$(median "${c_util[@]}")" 0.85)" \
      "$(human "$(median "${m_rps[@]}")") vs $(human "$(median "${c_rps[@]}")") req/s; server CPU/s $(median "${m_util[@]}") vs $(median "${c_util[@]}"); CPU per request $(median "${m_us[@]}") vs $(median "${c_us[@]}") µs; req/s ratio by round: ${ratios[*]}; CPU/req ratio by round: ${cpu_ratios[*]}"
  done
}

# The churn client is loadgen itself at an open-model rate. Its body leaves the phase as it
# is, so the responses (and their cost) are the same with and without churn; every POST still
# merges, validates, swaps and republishes the phase.
CHURN_BODY='{"StartupSuccess": 1}'

section_churn() {
  log "phase churn: wrk on GET /startup with and without $CHURN_RATE POST /phase per second; $ROUNDS rounds"
  local r base=() churn=() ratio=() changes=() before churner
  local b_util=() c_util=() b_us=() c_us=() cpu_ratio=()
  for r in $(seq "$ROUNDS"); do
    wrk_server "$OUT/churn-base-r$r" "$MOCK_URL/startup" "$MOCK_PID"
    base+=("$RPS") b_util+=("$UTIL") b_us+=("$US_PER_REQ")
    before=$(metric "$MOCK_URL/metrics" mockserver_phase_changes_total)
    "${GEN_PIN[@]}" "$BIN/loadgen" --rate "$CHURN_RATE" -z "$((DURATION + 1))s" -c 4 -m POST \
      -T application/json -d "$CHURN_BODY" --no-progress --output json "$MOCK_URL/phase" \
      >"$OUT/churn-client-r$r.json" 2>"$OUT/churn-client-r$r.err" &
    churner=$!
    sleep 0.5
    wrk_server "$OUT/churn-on-r$r" "$MOCK_URL/startup" "$MOCK_PID"
    churn+=("$RPS") c_util+=("$UTIL") c_us+=("$US_PER_REQ")
    ratio+=("$(calc "$RPS / ${base[-1]}" 3)")
    cpu_ratio+=("$(calc "${b_us[-1]} / $US_PER_REQ" 3)")
    wait "$churner" || die "the churn client failed (see $OUT/churn-client-r$r.err)"
    changes+=("$(calc "$(metric "$MOCK_URL/metrics" mockserver_phase_changes_total) - $before" 0)")
  done
  local m
  m=$(median "${ratio[@]}")
  row "phase churn: req/s with $CHURN_RATE phase POSTs/s ÷ without (GET /startup)" "$(calc "$m" 2)x" \
    ">= 0.95x" "$(throughput_verdict "$m" "$(median "${cpu_ratio[@]}")" "$(median "${c_util[@]}")" "$(median "${b_util[@]}")" 0.95)" \
    "$(human "$(median "${churn[@]}")") vs $(human "$(median "${base[@]}")") req/s; server CPU/s $(median "${c_util[@]}") vs $(median "${b_util[@]}"); CPU per request $(median "${c_us[@]}") vs $(median "${b_us[@]}") µs; phase changes per round: ${changes[*]}; req/s ratio by round: ${ratio[*]}; CPU/req ratio by round: ${cpu_ratio[*]}"
}

# The console's cost: wrk on GET /startup alone, then while a client polls the page's data
# (/ui/data, the 60-minute window: the largest document) once a second, as an open page does.
section_console() {
  log "console: wrk on GET /startup with and without a /ui/data poll every second; $ROUNDS rounds"
  local r base=() polled=() ratio=() polls=() poller
  local b_util=() p_util=() b_us=() p_us=() cpu_ratio=()
  for r in $(seq "$ROUNDS"); do
    wrk_server "$OUT/console-base-r$r" "$MOCK_URL/startup" "$MOCK_PID"
    base+=("$RPS") b_util+=("$UTIL") b_us+=("$US_PER_REQ")
    "${GEN_PIN[@]}" bash -c 'n=0; while :; do curl -sf -o /dev/null "$1/ui/data?window=60m" && n=$((n + 1)); echo "$n" >"$2"; sleep 1; done' \
      _ "$MOCK_URL" "$OUT/console-polls-r$r" &
    poller=$!
    sleep 0.5
    wrk_server "$OUT/console-on-r$r" "$MOCK_URL/startup" "$MOCK_PID"
    kill "$poller" 2>/dev/null || true
    wait "$poller" 2>/dev/null || true
    polled+=("$RPS") p_util+=("$UTIL") p_us+=("$US_PER_REQ")
    ratio+=("$(calc "$RPS / ${base[-1]}" 3)")
    cpu_ratio+=("$(calc "${b_us[-1]} / $US_PER_REQ" 3)")
    polls+=("$(cat "$OUT/console-polls-r$r" 2>/dev/null || echo 0)")
  done
  local m
  m=$(median "${ratio[@]}")
  row "console: req/s while a client polls /ui/data every second ÷ without (GET /startup)" "$(calc "$m" 2)x" \
    ">= 0.95x" "$(throughput_verdict "$m" "$(median "${cpu_ratio[@]}")" "$(median "${p_util[@]}")" "$(median "${b_util[@]}")" 0.95)" \
    "$(human "$(median "${polled[@]}")") vs $(human "$(median "${base[@]}")") req/s; server CPU/s $(median "${p_util[@]}") vs $(median "${b_util[@]}"); CPU per request $(median "${p_us[@]}") vs $(median "${b_us[@]}") µs; polls per round: ${polls[*]}; req/s ratio by round: ${ratio[*]}; CPU/req ratio by round: ${cpu_ratio[*]}"
}

# bench/lib/clients.sh: the sections about the generators: their cost per request against the
# ceiling, their memory as the request count grows, and how honestly they report a known
# server delay. Sourced.

# cpu_per_100k CPU REQS
cpu_per_100k() { calc "$1 / $2 * 100000" 3; }

section_generators() {
  log "generators: -n $GEN_N -c $CONNS against the ceiling, $GEN_ROUNDS interleaved rounds (wrk: as long as loadgen took)"
  local round p srv before secs lg_cpu lg_rps lg_util lg_srv
  local -A cpu_ratios rps_ratios abs utils srv_utils
  local lg_cpus=() lg_rpss=() lg_utils=()
  for ((round = 1; round <= GEN_ROUNDS; round++)); do
    before=$(proc_cpu "$CEIL_PID")
    gen loadgen "$OUT/gen-loadgen-$round" "$CEIL_URL/" "$GEN_N" "$CONNS" || die "loadgen failed against the ceiling"
    [ "$BAD" -eq 0 ] || die "loadgen: $BAD failed requests against the ceiling"
    lg_cpu=$(cpu_per_100k "$CPU" "$REQS")
    lg_rps=$RPS
    lg_util=$(calc "$CPU / $WALL")
    lg_cpus+=("$lg_cpu") lg_rpss+=("$lg_rps") lg_utils+=("$lg_util")
    srv=$(calc "($(proc_cpu "$CEIL_PID") - $before) / $WALL")
    lg_srv=$srv
    abs[loadgen]+="$(human "$REQS") req in ${WALL}s, ${lg_cpu} CPU-s/100k, $(human "$RPS") req/s (gen ${lg_util}, server ${srv} core); "
    secs=$(awk -v w="$WALL" 'BEGIN { s = int(w + 0.999); print (s < 2 ? 2 : s) }')
    for p in wrk oha hey; do
      peer_ok "$p" || continue
      before=$(proc_cpu "$CEIL_PID")
      gen "$p" "$OUT/gen-$p-$round" "$CEIL_URL/" "$GEN_N" "$CONNS" "$secs" || {
        abs[$p]+="round $round failed (see $OUT/gen-$p-$round.err); "
        continue
      }
      local cpu util
      cpu=$(cpu_per_100k "$CPU" "$REQS")
      util=$(calc "$CPU / $WALL")
      srv=$(calc "($(proc_cpu "$CEIL_PID") - $before) / $WALL")
      cpu_ratios[$p]+="$(calc "$lg_cpu / $cpu" 3) "
      rps_ratios[$p]+="$(calc "$lg_rps / $RPS" 3) "
      utils[$p]+="$util $lg_util "
      srv_utils[$p]+="$srv $lg_srv "
      abs[$p]+="$(human "$REQS") req$([ "$BAD" -gt 0 ] && echo " ($BAD failed)"), ${cpu} CPU-s/100k, $(human "$RPS") req/s (gen ${util}, server ${srv} core); "
    done
  done
  for p in wrk oha hey; do
    if ! peer_ok "$p"; then
      skipped_row "loadgen ÷ $p, CPU-s per 100k requests" "$(cpu_target "$p")" "$p"
      continue
    fi
    if [ -z "${cpu_ratios[$p]:-}" ]; then
      row "loadgen ÷ $p, CPU-s per 100k requests" "—" "$(cpu_target "$p")" "$p failed" "${abs[$p]}"
      continue
    fi
    local ratio bound=1.0 op='<'
    [ "$p" = wrk ] && bound=1.2 op='<='
    # shellcheck disable=SC2086 # the ratios are a space-separated list on purpose
    ratio=$(median ${cpu_ratios[$p]})
    row "loadgen ÷ $p, CPU-s per 100k requests (median of rounds)" "$(calc "$ratio" 2)x" "$(cpu_target "$p")" \
      "$(verdict "$ratio $op $bound")" "by round: ${cpu_ratios[$p]}; $p: ${abs[$p]}"
    # shellcheck disable=SC2086
    ratio=$(median ${rps_ratios[$p]})
    local target="—" v="—"
    if [ "$p" = wrk ]; then
      target=">= 1.00x when generator-bound"
      # The target applies when a generator, not the server, limits the rate: the generator
      # then uses about one core-second per second and the server has room to spare. When
      # both are near a core, the server sets the pace as much as the generator does.
      local gen_use srv_use
      # shellcheck disable=SC2086
      gen_use=$(median ${utils[$p]})
      # shellcheck disable=SC2086
      srv_use=$(median ${srv_utils[$p]})
      if ge "$gen_use" 0.9 && ! ge "$srv_use" 0.85; then
        v=$(verdict "$ratio >= 1.0")
      else
        v="n/a: not generator-bound (generators at $gen_use, server at $srv_use core)"
      fi
    fi
    row "loadgen ÷ $p, requests/s (median of rounds)" "$(calc "$ratio" 2)x" "$target" "$v" "by round: ${rps_ratios[$p]}"
  done
  ABS_NOTES+=("loadgen against the ceiling, by round: ${abs[loadgen]}")
}

cpu_target() {
  case $1 in
    wrk) echo "<= 1.20x" ;;
    *) echo "< 1.00x" ;;
  esac
}

section_memory() {
  log "memory: peak RSS at -n $MEM_SMALL and -n $MEM_BIG, -c $CONNS against the ceiling"
  local p small big
  for p in loadgen hey oha; do
    if [ "$p" != loadgen ] && ! peer_ok "$p"; then
      skipped_row "$p peak RSS, -n $(human "$MEM_BIG") ÷ -n $(human "$MEM_SMALL")" "—" "$p"
      continue
    fi
    gen "$p" "$OUT/mem-$p-small" "$CEIL_URL/" "$MEM_SMALL" "$CONNS" || die "$p failed at -n $MEM_SMALL"
    small=$RSS_KIB
    gen "$p" "$OUT/mem-$p-big" "$CEIL_URL/" "$MEM_BIG" "$CONNS" || die "$p failed at -n $MEM_BIG"
    big=$RSS_KIB
    local ratio target="—" v="—"
    ratio=$(calc "$big / $small" 3)
    if [ "$p" = loadgen ]; then
      # Flat: within 10% (allocator noise), whatever the count.
      target="flat (<= 1.10x)"
      v=$(verdict "$ratio <= 1.10")
    fi
    row "$p peak RSS, -n $(human "$MEM_BIG") ÷ -n $(human "$MEM_SMALL")" "$(calc "$ratio" 2)x" "$target" "$v" \
      "$(calc "$small / 1024" 1) MB -> $(calc "$big / 1024" 1) MB ($(human "$MEM_BIG") req in ${WALL}s)"
  done
}

# Honesty: mock-server in sleep mode holds every GET /startup exactly HONEST_MS (min = max).
# The reference is what the server recorded for those requests:
# - movieguru_startup_latency_milliseconds: the delay it drew, HONEST_MS for every request
#   (checked: count = requests, sum / count = HONEST_MS), so p50 = p99 = HONEST_MS;
# - http_request_duration_seconds{route="/startup"}: its own arrival-to-response time, of
#   which only the mean is exact (the buckets are too coarse for percentiles); the excess
#   over HONEST_MS is the server's timer overshoot, not the generator's doing.
section_honesty() {
  log "honesty: GET /startup held ${HONEST_MS} ms by mock-server (sleep mode), -n $HONEST_N -c $HONEST_C"
  local p drawn_n drawn_sum dur_n dur_sum secs
  secs=$(awk -v n="$HONEST_N" -v c="$HONEST_C" -v ms="$HONEST_MS" 'BEGIN { s = int(n / c * ms / 1000 + 0.999); print (s < 2 ? 2 : s) }')
  for p in loadgen wrk hey oha; do
    if [ "$p" != loadgen ] && ! peer_ok "$p"; then
      skipped_row "honesty: $p p50 / p99 − server's ${HONEST_MS} ms" "—" "$p"
      continue
    fi
    drawn_n=$(metric "$SLEEP_URL/metrics" movieguru_startup_latency_milliseconds_count)
    drawn_sum=$(metric "$SLEEP_URL/metrics" movieguru_startup_latency_milliseconds_sum)
    dur_n=$(metric "$SLEEP_URL/metrics" http_request_duration_seconds_count 'route="/startup"')
    dur_sum=$(metric "$SLEEP_URL/metrics" http_request_duration_seconds_sum 'route="/startup"')
    gen "$p" "$OUT/honest-$p" "$SLEEP_URL/startup" "$HONEST_N" "$HONEST_C" "$secs" || die "$p failed in the honesty run"
    [ "$BAD" -eq 0 ] || die "$p: $BAD requests failed in the honesty run (see $OUT/honest-$p.out)"
    drawn_n=$(calc "$(metric "$SLEEP_URL/metrics" movieguru_startup_latency_milliseconds_count) - $drawn_n" 0)
    drawn_sum=$(calc "$(metric "$SLEEP_URL/metrics" movieguru_startup_latency_milliseconds_sum) - $drawn_sum" 3)
    dur_n=$(calc "$(metric "$SLEEP_URL/metrics" http_request_duration_seconds_count 'route="/startup"') - $dur_n" 0)
    dur_sum=$(calc "$(metric "$SLEEP_URL/metrics" http_request_duration_seconds_sum 'route="/startup"') - $dur_sum" 6)
    local drawn_mean server_mean
    drawn_mean=$(calc "$drawn_sum / $drawn_n" 3)
    server_mean=$(calc "$dur_sum / $dur_n * 1000" 3)
    [ "$drawn_n" -eq "$REQS" ] || log "note: server drew $drawn_n delays for $p's $REQS requests"
    local gap50 gap99 target="—" v="—"
    gap50=$(calc "$P50_MS - $drawn_mean" 2)
    gap99=$(calc "$P99_MS - $drawn_mean" 2)
    if [ "$p" = loadgen ]; then
      target="each <= 0.5 ms"
      v=$(verdict "$gap50 <= 0.5 && $gap99 <= 0.5")
    fi
    row "honesty: $p p50 / p99 − server's ${HONEST_MS} ms" "+${gap50} / +${gap99} ms" "$target" "$v" \
      "$p p50 $(calc "$P50_MS" 2) ms, p99 $(calc "$P99_MS" 2) ms; server drew ${drawn_mean} ms ×${drawn_n}, its own mean arrival-to-response $(calc "$server_mean" 2) ms (gap p50 − that: $(calc "$P50_MS - $server_mean" 2) ms)"
  done
}

section_slow_clients() {
  log "slow clients: loadgen -c $SLOW_C -n $SLOW_N POST /chat, chat latency 1.6-7.6 s (sleep mode)"
  local before calls_before
  before=$(proc_cpu "$SLOW_PID")
  calls_before=$(metric "$SLOW_URL/metrics" movieguru_chat_calls_total)
  timed "$OUT/slow-loadgen" "$BIN/loadgen" -n "$SLOW_N" -c "$SLOW_C" --cpus 1 -t 60 -m POST \
    -T application/json -d '{"content": "a film like Alien"}' --no-progress --output json "$SLOW_URL/chat" ||
    die "loadgen failed in the slow-clients run (see $OUT/slow-loadgen.err)"
  parse_loadgen "$OUT/slow-loadgen.out"
  CPU=$(time_cpu "$OUT/slow-loadgen") WALL=$(time_wall "$OUT/slow-loadgen") RSS_KIB=$(time_rss_kib "$OUT/slow-loadgen")
  local srv_cpu rss calls answered
  srv_cpu=$(calc "$(proc_cpu "$SLOW_PID") - $before" 2)
  rss=$(proc_peak_rss_kib "$SLOW_PID")
  calls=$(calc "$(metric "$SLOW_URL/metrics" movieguru_chat_calls_total) - $calls_before" 0)
  answered=$(jq -r '[.total.status_codes | to_entries[] | select(.key | startswith("2")) | .value] | add // 0' "$OUT/slow-loadgen.out")
  local ratio
  ratio=$(calc "$answered / $SLOW_N" 4)
  row "$(human "$SLOW_C") slow clients: answered 2xx ÷ sent" "$ratio" "= 1" "$(verdict "$answered == $SLOW_N")" \
    "$answered of $SLOW_N answered 200 ($BAD failed or not 2xx), server counted $calls chat calls; p50 $(calc "$P50_MS / 1000" 2) s, p99 $(calc "$P99_MS / 1000" 2) s; run ${WALL}s"
  ratio=$(calc "$rss / 1024 / 200" 3)
  row "$(human "$SLOW_C") slow clients: server peak RSS ÷ 200 MB" "$(calc "$ratio" 2)x" "<= 1.00x" "$(verdict "$ratio <= 1.0")" \
    "$(calc "$rss / 1024" 1) MB peak (VmHWM); server CPU ${srv_cpu} s over ${WALL} s = $(calc "$srv_cpu / $WALL") core; loadgen ${CPU} CPU-s, $(calc "$RSS_KIB / 1024" 1) MB"
}

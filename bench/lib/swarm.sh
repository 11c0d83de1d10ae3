# bench/lib/swarm.sh: `loadgen journey --web` with the page closed against the headless journey.
# Sourced.
#
# section_swarm: ROUNDS interleaved pairs of the same journey (SWARM_USERS users, no think time,
# SWARM_SECS seconds) against mock-server in record mode: once headless, once with --web
# --autostart and nobody polling the page. Both run under `timed` (CPU = user+sys of the whole
# process, start-up and the idle page server included); the --web run serves until Ctrl-C, so
# once its page says "stopped" it gets SIGINT and prints its report like the headless one.
# The figure is CPU per request with the page ÷ without: the page must cost nothing while closed.
section_swarm() {
  log "swarm: journey --web (page closed) vs headless, $SWARM_USERS users, ${SWARM_SECS}s, $ROUNDS rounds"
  local r port timer lg reqs cpu ratio=() head_us=() web_us=() head_req=() web_req=()
  local common=(journey --host "$MOCK_URL" --users "$SWARM_USERS" --spawn-rate 1000
    --wait 0ms..0ms --run-time "${SWARM_SECS}s" --stats-interval 0s --output json)
  for r in $(seq "$ROUNDS"); do
    timed "$OUT/swarm-headless-r$r" "$BIN/loadgen" "${common[@]}" ||
      die "headless journey failed; see $OUT/swarm-headless-r$r.err"
    reqs=$(jq '.total.requests' "$OUT/swarm-headless-r$r.out")
    cpu=$(time_cpu "$OUT/swarm-headless-r$r")
    head_req+=("$reqs") head_us+=("$(calc "$cpu * 1e6 / $reqs" 2)")

    port=$(free_port $((PORT + 6)))
    timed "$OUT/swarm-web-r$r" "$BIN/loadgen" "${common[@]}" --web "127.0.0.1:$port" --autostart &
    timer=$!
    wait_http "http://127.0.0.1:$port/stats"
    # loadgen itself: the background shell's /usr/bin/time's child (taskset execs it). Listed
    # for stop_all, so a failure below cannot leave the page serving forever.
    lg=$(pgrep -P "$(pgrep -P "$timer")")
    STARTED_PIDS+=("$lg")
    # One look at the state every half second: the page's cost is what this bench measures,
    # so it is asked as rarely as the run's end allows.
    until curl -s "http://127.0.0.1:$port/stats" | grep -q '"state":"stopped"'; do sleep 0.5; done
    # SIGINT to loadgen, not to time, which would die without writing its figures.
    kill -INT "$lg"
    wait "$timer" || die "journey --web failed; see $OUT/swarm-web-r$r.err"
    reqs=$(jq '.total.requests' "$OUT/swarm-web-r$r.out")
    cpu=$(time_cpu "$OUT/swarm-web-r$r")
    web_req+=("$reqs") web_us+=("$(calc "$cpu * 1e6 / $reqs" 2)")
    ratio+=("$(calc "${web_us[-1]} / ${head_us[-1]}" 3)")
  done
  local m
  m=$(median "${ratio[@]}")
  row "swarm: CPU per request, journey --web (page closed) ÷ headless" "$(calc "$m" 2)x" "<= 1.10x" \
    "$(verdict "$m <= 1.10")" \
    "$(median "${web_us[@]}") vs $(median "${head_us[@]}") µs/request; requests per run $(median "${web_req[@]}") vs $(median "${head_req[@]}"); ratio by round: ${ratio[*]}"
}

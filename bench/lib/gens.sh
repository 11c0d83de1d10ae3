# bench/lib/gens.sh: how each load generator is invoked, so every section runs them alike.
# Sourced.
#
# gen TOOL OUT URL N C [WRK_SECS]: one run of TOOL, pinned to the generator core and timed
# (see `timed`), with N requests over C connections, each tool told to use one thread/core.
# wrk has no request count: it runs WRK_SECS seconds instead, and its figures are normalised
# per request. Fills REQS, BAD, RPS, P50_MS, P99_MS (see parse.sh) plus CPU (user+sys seconds),
# WALL and RSS_KIB. Returns non-zero (and says so) when the tool itself failed.
gen() {
  local tool=$1 out=$2 url=$3 n=$4 c=$5 secs=${6:-5}
  local rc=0
  case $tool in
    loadgen)
      timed "$out" "$BIN/loadgen" -n "$n" -c "$c" --cpus 1 -t 60 --no-progress --output json "$url" || rc=$?
      [ $rc -eq 0 ] && parse_loadgen "$out.out"
      ;;
    wrk)
      timed "$out" wrk -t1 -c "$c" -d "${secs}s" --timeout 60s --latency "$url" || rc=$?
      [ $rc -eq 0 ] && parse_wrk "$out.out"
      ;;
    hey)
      timed "$out" hey -n "$n" -c "$c" -cpus 1 -t 60 "$url" || rc=$?
      [ $rc -eq 0 ] && parse_hey "$out.out"
      ;;
    oha)
      timed "$out" "$OHA" -n "$n" -c "$c" --worker-threads 1 -t 60s --no-tui --output-format json "$url" || rc=$?
      [ $rc -eq 0 ] && parse_oha "$out.out"
      ;;
    *) die "unknown generator $tool" ;;
  esac
  if [ $rc -ne 0 ]; then
    log "$tool exited with status $rc; see $out.err"
    return $rc
  fi
  CPU=$(time_cpu "$out")
  WALL=$(time_wall "$out")
  RSS_KIB=$(time_rss_kib "$out")
}

# Which of the peers can run here; the missing ones are listed with their install line.
PEERS=()
MISSING_PEERS=()
find_peers() {
  OHA=${OHA:-$(command -v oha || true)}
  [ -z "$OHA" ] && [ -x "$HOME/.cargo/bin/oha" ] && OHA=$HOME/.cargo/bin/oha
  local p
  for p in wrk oha hey; do
    if { [ "$p" = oha ] && [ -n "$OHA" ]; } || { [ "$p" != oha ] && have "$p"; }; then
      PEERS+=("$p")
    else
      MISSING_PEERS+=("$p")
    fi
  done
}
peer_ok() {
  local p
  for p in "${PEERS[@]}"; do [ "$p" = "$1" ] && return 0; done
  return 1
}
skipped_row() {
  row "$1" "—" "$2" "not installed" "skipped: \`$(install_line "$3")\`"
}

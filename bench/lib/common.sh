# bench/lib/common.sh: what every section of bench/run shares. Sourced, not run.
#
# Processes started here are tracked by pid and stopped by pid on exit; nothing is killed by
# name. Arithmetic is done in awk (bash has no floats).

# Cores: the generator on one, the server on another, so neither steals the other's CPU and
# a figure says whose work it is. With one core there is nothing to pin.
if [ "$(nproc)" -ge 2 ]; then
  GEN_PIN=(taskset -c 0)
  SRV_PIN=(taskset -c 1)
  PINNING="generators on core 0, servers on core 1 (taskset)"
else
  GEN_PIN=()
  SRV_PIN=()
  PINNING="not pinned: this machine has one core, so generator and server share it"
fi

STARTED_PIDS=()

log() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench/run: %s\n' "$*" >&2; exit 1; }

# calc EXPR [DECIMALS]: a float expression evaluated by awk.
calc() { awk "BEGIN { printf \"%.${2:-2}f\", ($1) }"; }
# ge A B: exit status 0 when A >= B (floats).
ge() { awk "BEGIN { exit !(($1) >= ($2)) }"; }
# human N: 58708 -> 58.7k, 1234567 -> 1.23M.
human() {
  awk -v n="$1" 'BEGIN {
    if (n >= 1e6) printf "%.2fM", n / 1e6; else if (n >= 1e3) printf "%.1fk", n / 1e3; else printf "%g", n }'
}
# median of the arguments (floats).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
  if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# A port nothing listens on, starting the search at $1.
free_port() {
  local p=$1
  while ss -Hltn "sport = :$p" | grep -q .; do p=$((p + 1)); done
  echo "$p"
}

# wait_http URL: until it answers (any status), at most 10 s.
wait_http() {
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  die "nothing answers at $1 after 10 s"
}

# start_server NAME LOGFILE CMD...: starts CMD pinned to the server core, sets SERVER_PID.
# taskset execs the command, so the pid is the server's own (its /proc figures are the server's).
start_server() {
  local name=$1 logfile=$2
  shift 2
  "${SRV_PIN[@]}" "$@" >"$logfile" 2>&1 &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  log "started $name (pid $SERVER_PID)"
}

stop_server() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}

# CPU seconds (user+sys) a process has used so far, from /proc/PID/stat.
proc_cpu() {
  awk -v tck="$(getconf CLK_TCK)" '{
    # Field 2 (comm) may hold spaces: count from the closing parenthesis.
    sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / tck }' "/proc/$1/stat"
}
# Peak resident set of a process so far (VmHWM), in KiB.
proc_peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# timed OUT CMD...: runs CMD pinned to the generator core under /usr/bin/time; stdout goes to
# OUT.out, stderr to OUT.err and "wall user sys maxrss_kib" to OUT.time. The generator's exit
# status is returned, not hidden.
timed() {
  local out=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$out.time" "${GEN_PIN[@]}" "$@" >"$out.out" 2>"$out.err"
}
time_wall() { awk '{ print $1 }' "$1.time" | tail -1; }
time_cpu() { awk '{ printf "%.3f", $2 + $3 }' "$1.time" | tail -1; }
time_rss_kib() { awk '{ print $4 }' "$1.time" | tail -1; }

# metric URL NAME [LABEL_MATCH]: the sum of a Prometheus sample's values (0 when absent).
metric() {
  curl -s "$1" | awk -v name="$2" -v match_="${3:-}" '
    $1 == name || index($1, name "{") == 1 { if (match_ == "" || index($1, match_)) s += $2 }
    END { printf "%.6f", s + 0 }'
}

post_phase() {
  curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$1/phase" >/dev/null ||
    die "mock-server at $1 refused the phase $2"
}

# Which peers are installed; a missing one is reported and skipped, never fatal.
have() { command -v "$1" >/dev/null 2>&1; }
install_line() {
  case $1 in
    wrk | hey) echo "apt-get install -y wrk hey" ;;
    oha) echo "cargo install oha --locked" ;;
    *) echo "install $1" ;;
  esac
}

#!/usr/bin/env bash
# Chaos check: what kbench promises when things go wrong, with the release binary, each case
# with its expected exit code and report status.
#
#   scripts/chaos.sh [CASE...]      cases: kill, restart-empty, restart-kept, stall, outage,
#                                   sigterm, sigint, full-disk (default: all)
#
#   kill           `kbench serve` killed with SIGKILL 3 s into a run, not restarted: exit 3,
#                  status failed, "endpoint unreachable ... connection refused", nothing lost
#   restart-empty  killed and restarted on the same port without its state: the stream is gone,
#                  the run ends early: exit 3, "vanished"
#   restart-kept   killed and restarted with its state (--state-dir): records flow again
#                  without a restart of kbench; exit 0 or, if the endpoint's write-ahead log
#                  lost acknowledged records, exit 3 naming them lost (either is a true verdict;
#                  anything else fails the check)
#   stall          a 1 s stall every 4 s injected ([target.faults]): the corrected put p99
#                  reflects it (>= 700 ms); exit 0
#   outage         the endpoint down from 3 s to 6 s, state kept: timeseries.csv shows it, the
#                  summary names it, records flow after it; exit 0
#   sigterm/sigint the signal mid-run: exit 143 / 130, status interrupted, no SLO claimed
#   full-disk      the report folder on a 400 KiB tmpfs that fills mid-run: the summary is
#                  still printed, run.json says failed with report_error, no .tmp file is
#                  left, exit 3 (skipped with a message where tmpfs cannot be mounted)
#
# Environment: KBENCH (default target/release/kbench); KBENCH_CHAOS_KEEP=1 keeps the folder.
# Only 127.0.0.1 is contacted.
set -euo pipefail
SCRIPT_NAME=chaos
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ -n ${KBENCH:-} && $KBENCH == */* ]]; then KBENCH=$(abs_path "$KBENCH"); fi
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
KBENCH=${KBENCH:-target/release/kbench}
[[ -x $KBENCH ]] || die "no kbench binary at $KBENCH (cargo build --release)"
require_tools python3=python3

work=$(mktemp -d)
serve_pid=""
cleanup() {
    [[ -n $serve_pid ]] && kill -9 "$serve_pid" 2>/dev/null || true
    if mountpoint -q "$work/disk" 2>/dev/null; then umount "$work/disk" || true; fi
    if [[ ${KBENCH_CHAOS_KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

failures=0
pass() { echo "PASS $1"; }
fail() {
    echo "FAIL $1: $2"
    failures=$((failures + 1))
}

# free_port: a port on 127.0.0.1 nothing listens on.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# serve PORT [ARGS...]: starts `kbench serve` in the background and waits until it listens.
serve() {
    local port=$1
    shift
    "$KBENCH" serve --port "$port" "$@" >"$work/serve-$port.log" 2>&1 &
    serve_pid=$!
    # killed on purpose: no "Killed" line from the shell
    disown "$serve_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "kbench serve did not listen on $port: $(cat "$work/serve-$port.log")"
}

# scenario NAME SECONDS [EXTRA_TOML]: a small scenario file on the embedded endpoint or, with
# ENDPOINT set, on that URL.
scenario() {
    local file="$work/$1.toml"
    {
        echo "name = \"$1\""
        echo "[target]"
        [[ -n ${ENDPOINT:-} ]] && echo "endpoint = \"$ENDPOINT\""
        echo "stream = \"chaos-$1\""
        echo "shards = 2"
        echo "${3:-}"
        echo "[producer]"
        echo "max_attempts = 4"
        echo "backoff = { base = \"100ms\", max = \"1s\" }"
        echo "[records]"
        echo "size = \"256B\""
        echo "[[phase]]"
        echo "duration = \"$2s\""
        echo "rate = 300"
        echo "[consumer]"
        echo "drain = \"10s\""
    } >"$file"
    echo "$file"
}

# run CASE SCENARIO [FLAGS...]: runs kbench; sets rc, out (stdout file) and dir (the report).
run() {
    local case=$1 file=$2
    shift 2
    out="$work/$case.out"
    rc=0
    "$KBENCH" run "$file" --out "$work/out-$case" "$@" >"$out" 2>"$work/$case.err" || rc=$?
    dir=$(find "$work/out-$case" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -1)
}

# json EXPR: evaluates a Python expression over run.json (as `r`) in $dir.
json() {
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($1)" "$dir/run.json"
}

# expect CASE CODE STATUS: checks the exit code and run.json's status.
expect() {
    local case=$1 code=$2 status=$3 got
    if [[ $rc != "$code" ]]; then
        fail "$case" "exit $rc, expected $code; stdout: $(tail -5 "$out" | tr '\n' ' '); stderr: $(tail -3 "$work/$case.err" | tr '\n' ' ')"
        return 1
    fi
    got=$(json 'r["status"]')
    if [[ $got != "$status" ]]; then
        fail "$case" "run.json status $got, expected $status"
        return 1
    fi
}

# accounted: every record accounted for and nothing called lost (prints why not).
accounted() {
    json '"ok" if all(v["accounting"]["scheduled"] == v["accounting"]["acknowledged"] + v["accounting"]["given_up"] and v["accounting"]["lost"] == 0 for v in r["variants"]) else "not accounted: " + str([v["accounting"] for v in r["variants"]])'
}

case_kill() {
    local port file
    port=$(free_port)
    serve "$port"
    file=$(ENDPOINT="http://127.0.0.1:$port" scenario kill 10)
    (sleep 3 && kill -9 "$serve_pid") &
    run kill "$file"
    serve_pid=""
    expect kill 3 failed || return 0
    if ! grep -q 'incident: endpoint unreachable from .*connection refused' "$out"; then
        fail kill "the summary does not name the outage: $(grep -E 'incident|failed' "$out")"
    elif [[ $(accounted) != ok ]]; then
        fail kill "$(accounted)"
    else
        pass "kill: exit 3, $(json 'r["variants"][0]["failure"]' | cut -c1-90)"
    fi
}

case_restart_empty() {
    local port file
    port=$(free_port)
    serve "$port"
    file=$(ENDPOINT="http://127.0.0.1:$port" scenario restart-empty 30)
    (sleep 3 && kill -9 "$serve_pid" && sleep 0.5 && "$KBENCH" serve --port "$port" >"$work/serve-again.log" 2>&1) &
    local again=$!
    run restart-empty "$file"
    pkill -f "serve --port $port" || true
    wait "$again" 2>/dev/null || true
    serve_pid=""
    expect restart-empty 3 failed || return 0
    local elapsed
    elapsed=$(json 'r["variants"][0]["elapsed_s"]')
    if ! json 'r["variants"][0]["failure"]' | grep -q vanished; then
        fail restart-empty "no vanished stream in: $(json 'r["variants"][0]["failure"]')"
    elif python3 -c "import sys; sys.exit(0 if $elapsed < 25 else 1)"; then
        pass "restart-empty: exit 3 after ${elapsed} s of a 30 s schedule, stream vanished"
    else
        fail restart-empty "it ran ${elapsed} s: it should stop early"
    fi
}

case_restart_kept() {
    local port file state="$work/state"
    port=$(free_port)
    serve "$port" --state-dir "$state"
    file=$(ENDPOINT="http://127.0.0.1:$port" scenario restart-kept 12)
    (sleep 3 && kill -9 "$serve_pid" && sleep 2 && "$KBENCH" serve --port "$port" --state-dir "$state" >"$work/serve-kept.log" 2>&1) &
    local again=$!
    run restart-kept "$file"
    pkill -f "serve --port $port" || true
    wait "$again" 2>/dev/null || true
    serve_pid=""
    case $rc in
        0)
            expect restart-kept 0 completed || return 0
            pass "restart-kept: exit 0, records flowed again after the restart; $(grep -c '^incident' "$out") incident(s) named"
            ;;
        3)
            if json 'r["variants"][0]["failure"]' | grep -q 'records lost'; then
                pass "restart-kept: exit 3, the endpoint's log lost acknowledged records and the run says so"
            else
                fail restart-kept "exit 3 but: $(json 'r["variants"][0]["failure"]')"
            fi
            ;;
        *) fail restart-kept "exit $rc: $(tail -3 "$work/restart-kept.err")" ;;
    esac
}

case_stall() {
    local file
    file=$(scenario stall 8 '[target.faults]
stall = { every = "4s", for = "1s" }')
    run stall "$file"
    expect stall 0 completed || return 0
    local p99 un
    p99=$(json 'r["variants"][0]["phases"][-1]["put"]["p99_ms"]')
    un=$(json 'r["variants"][0]["phases"][-1]["put_uncorrected"]["p99_ms"]')
    if python3 -c "import sys; sys.exit(0 if $p99 >= 700 else 1)"; then
        pass "stall: corrected put p99 ${p99} ms (uncorrected ${un} ms)"
    else
        fail stall "corrected put p99 ${p99} ms does not show a 1 s stall"
    fi
}

case_outage() {
    local file
    file=$(scenario outage 10 '[target.faults]
outage = { from = "3s", to = "6s" }')
    run outage "$file"
    expect outage 0 completed || return 0
    if ! grep -q '^incident: endpoint unreachable' "$out"; then
        fail outage "the summary does not name the outage: $(grep -E '^incident' "$out")"
        return 0
    fi
    # acknowledgements stop during the outage and come back after it
    local shape
    shape=$(python3 - "$dir/timeseries.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
during = [int(r["acknowledged"]) for r in rows if 4.0 <= float(r["elapsed_s"]) <= 5.5]
after = [int(r["acknowledged"]) for r in rows if float(r["elapsed_s"]) >= 8.0]
print("ok" if during and max(during) == 0 and sum(after) > 0 else f"during {during} after {after}")
EOF
)
    if [[ $shape != ok ]]; then
        fail outage "timeseries.csv: $shape"
    elif [[ $(accounted) != ok ]]; then
        fail outage "$(accounted)"
    else
        pass "outage: $(grep '^incident: endpoint unreachable' "$out" | head -1 | cut -c11-110)"
    fi
}

# signalled CASE SIGNAL CODE
signalled() {
    local case=$1 sig=$2 code=$3 file
    file=$(scenario "$case" 30 '')
    "$KBENCH" run "$file" --out "$work/out-$case" >"$work/$case.out" 2>"$work/$case.err" &
    local pid=$!
    sleep 4
    kill -"$sig" "$pid"
    rc=0
    wait "$pid" || rc=$?
    out="$work/$case.out"
    dir=$(find "$work/out-$case" -mindepth 1 -maxdepth 1 -type d | head -1)
    expect "$case" "$code" interrupted || return 0
    if ! grep -q 'interrupted: SLOs not evaluated' "$out"; then
        fail "$case" "the summary claims SLO verdicts"
    elif [[ $(accounted) != ok ]]; then
        fail "$case" "$(accounted)"
    else
        pass "$case: exit $code, interrupted, every record accounted for"
    fi
}

case_full_disk() {
    local disk="$work/disk"
    mkdir -p "$disk"
    if ! mount -t tmpfs -o size=400k tmpfs "$disk" 2>/dev/null; then
        echo "SKIP full-disk: cannot mount a tmpfs here (needs root and mount rights)"
        return 0
    fi
    # leave ~44 KiB: the report's first files fit, the time series fills it mid-run
    dd if=/dev/zero of="$disk/filler" bs=1k count=356 status=none 2>/dev/null || true
    local file
    file=$(scenario full 20 '')
    out="$work/full.out"
    rc=0
    "$KBENCH" run "$file" --out "$disk" >"$out" 2>"$work/full.err" || rc=$?
    dir=$(find "$disk" -mindepth 1 -maxdepth 1 -type d | head -1)
    if [[ $rc != 3 ]]; then
        fail full-disk "exit $rc, expected 3: $(tail -3 "$work/full.err")"
    elif ! grep -q '^accounting: ' "$out"; then
        fail full-disk "no summary on stdout"
    elif ! grep -q 'incomplete.*No space left on device' "$work/full.err"; then
        fail full-disk "stderr does not name the file and the cause: $(tail -3 "$work/full.err")"
    elif [[ -n $(find "$disk" -name '*.tmp') ]]; then
        fail full-disk "temporary files left: $(find "$disk" -name '*.tmp')"
    elif [[ $(json 'r["status"]') != failed ]]; then
        fail full-disk "run.json status $(json 'r["status"]')"
    else
        pass "full-disk: exit 3, summary printed, $(grep -o "cannot write report file \`[^\`]*\`" "$work/full.err" | head -1 | sed 's|.*/||')"
    fi
    umount "$disk" || true
}

cases=("$@")
((${#cases[@]})) || cases=(kill restart-empty restart-kept stall outage sigterm sigint full-disk)
for c in "${cases[@]}"; do
    case $c in
        kill) case_kill ;;
        restart-empty) case_restart_empty ;;
        restart-kept) case_restart_kept ;;
        stall) case_stall ;;
        outage) case_outage ;;
        sigterm) signalled sigterm TERM 143 ;;
        sigint) signalled sigint INT 130 ;;
        full-disk) case_full_disk ;;
        *) die "unknown case $c" ;;
    esac
done
if ((failures > 0)); then
    log "$failures case(s) failed (KBENCH_CHAOS_KEEP=1 keeps the logs and reports)"
    exit 1
fi
log "all cases passed"

#!/usr/bin/env bash
# Interoperability checks: KPL aggregation against the reference Python library aws-kinesis-agg,
# and enhanced fan-out against boto3.
#
#   scripts/interop.sh [--install-only] [--build]
#
# 1. kbench -> aws-kinesis-agg: starts `kbench serve` on a free loopback port, runs a short
#    put_records_aggregated scenario against it (JSON records whose "pk" field is their partition
#    key), then reads the stream back with boto3 and de-aggregates it with aws-kinesis-agg:
#    every user record, its partition key and its shard are checked against kbench's summary.
# 2. aws-kinesis-agg -> kbench: builds aggregates with aws-kinesis-agg's RecordAggregator from
#    seeded-random user records (plus a few plain records) and checks that kbench's decoder
#    (target/release/examples/deaggregate) returns exactly the records put in.
# 3. boto3 subscribe_to_shard -> kbench: starts `kbench serve --efo-session 2s` and subscribes with
#    boto3 (HTTP/1.1, chunked event stream) AFTER_SEQUENCE_NUMBER of a record, then renews from
#    each session's last ContinuationSequenceNumber: exactly the records after it, each once.
# Prints one PASS/FAIL line per check; exits non-zero if any fails.
#
# Installs aws-kinesis-agg, protobuf, six and boto3 at pinned versions with pip into a cache
# folder (once). Builds target/release/kbench and the deaggregate example if they are missing
# (--build: always run cargo build for them first).
#
# Environment:
#   KBENCH                        kbench binary (default target/release/kbench)
#   KBENCH_DEAGGREGATE            deaggregate example (default target/release/examples/deaggregate)
#   KBENCH_INTEROP_CACHE          install folder (default $HOME/.cache/kbench-interop)
#   KBENCH_INTEROP_SEED           seed of the scenario and of the Python records (default 1)
#   KBENCH_INTEROP_START_TIMEOUT  seconds `kbench serve` may take to accept connections (default 30)
#   KBENCH_INTEROP_RUN_TIMEOUT    seconds the kbench run may take (default 120)
#   KBENCH_INTEROP_KEEP=1         keep the temp folder (scenario, logs, report) even on success
#
# Only 127.0.0.1 is contacted, apart from PyPI (or your pip index) for the installs and
# crates.io if cargo has to fetch anything for a build.
set -euo pipefail

readonly PY_PACKAGES=(aws-kinesis-agg==1.2.3 protobuf==7.36.2 six==1.17.0 boto3==1.44.8)

# Paths given in the environment are relative to the caller's directory; defaults to the repo.
SCRIPT_NAME=interop
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CACHE=$(abs_path "${KBENCH_INTEROP_CACHE:-$HOME/.cache/kbench-interop}")
if [[ -n ${KBENCH:-} && $KBENCH == */* ]]; then KBENCH=$(abs_path "$KBENCH"); fi
if [[ -n ${KBENCH_DEAGGREGATE:-} ]]; then DEAGGREGATE=$(abs_path "$KBENCH_DEAGGREGATE"); fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
readonly DEFAULT_KBENCH=target/release/kbench
readonly DEFAULT_DEAGGREGATE=target/release/examples/deaggregate
KBENCH=${KBENCH:-$DEFAULT_KBENCH}
DEAGGREGATE=${DEAGGREGATE:-$DEFAULT_DEAGGREGATE}
SEED=${KBENCH_INTEROP_SEED:-1}
START_TIMEOUT=${KBENCH_INTEROP_START_TIMEOUT:-30}
RUN_TIMEOUT=${KBENCH_INTEROP_RUN_TIMEOUT:-120}
PY_DIR="$CACHE/py"
INTEROP_PY="$repo_root/scripts/interop.py"

install_only=0
build=0
for arg in "$@"; do
    case "$arg" in
        --install-only) install_only=1 ;;
        --build) build=1 ;;
        -h | --help)
            sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "interop: unknown argument '$arg' (see --help)" >&2
            exit 1
            ;;
    esac
done
[[ $SEED =~ ^[0-9]+$ ]] || { echo "interop: KBENCH_INTEROP_SEED must be a number" >&2; exit 1; }

# --- install ---------------------------------------------------------------------------------

# What the cache must have been installed for: the pinned packages and this Python's version.
install_stamp() {
    echo "${PY_PACKAGES[*]} python$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
}

# Runs python3 with the cached packages first on the path and no user site-packages.
py() {
    PYTHONPATH="$PY_DIR${PYTHONPATH:+:$PYTHONPATH}" PYTHONNOUSERSITE=1 NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" \
        python3 "$@"
}

# Installs the pinned packages into $PY_DIR unless its marker says they are there. Installs into
# a scratch folder first and renames it, so an interrupted install leaves nothing that looks
# complete.
install_python() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock" # serialise concurrent runs sharing the cache
    if command -v flock >/dev/null; then flock 9; fi
    local stamp
    stamp=$(install_stamp)
    if [[ -f "$PY_DIR/.installed" && $(cat "$PY_DIR/.installed") == "$stamp" ]]; then
        exec 9>&-
        return 0
    fi
    local scratch="$PY_DIR.partial.$$"
    rm -rf "$PY_DIR".partial.*
    mkdir -p "$scratch"
    log "installing ${PY_PACKAGES[*]} into $PY_DIR"
    # --target never touches the system Python, so a distribution's "externally managed" guard
    # (PEP 668) does not apply
    if ! PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check \
        --no-warn-conflicts --no-input --target "$scratch" "${PY_PACKAGES[@]}" >"$scratch.log" 2>&1; then
        cat "$scratch.log" >&2
        rm -rf "$scratch" "$scratch.log"
        die "pip install ${PY_PACKAGES[*]} failed"
    fi
    rm -f "$scratch.log"
    PYTHONPATH="$scratch" PYTHONNOUSERSITE=1 python3 -c '
import sys
from importlib.metadata import version
want = dict(p.split("==") for p in sys.argv[1:])
got = {name: version(name) for name in want}
import aws_kinesis_agg.aggregator, aws_kinesis_agg.deaggregator, boto3, google.protobuf, six
bad = {n: v for n, v in got.items() if v != want[n]}
if bad:
    sys.exit("installed versions differ from the pinned ones: %s" % bad)
' "${PY_PACKAGES[@]}" || die "the packages installed in $scratch do not import or are the wrong versions"
    rm -rf "$PY_DIR"
    mv "$scratch" "$PY_DIR"
    echo "$stamp" >"$PY_DIR/.installed"
    exec 9>&-
}

# --- binaries --------------------------------------------------------------------------------

cargo_build() {
    command -v cargo >/dev/null || die "cargo not found: build kbench first, or set KBENCH and KBENCH_DEAGGREGATE"
    log "cargo build --release --locked${*:+ $*}"
    cargo build --release --locked "$@" >&2 || die "cargo build --release --locked $* failed"
}

# Builds the default binaries when asked to or when missing; warns when they look stale.
ensure_binaries() {
    if [[ $KBENCH == "$DEFAULT_KBENCH" ]] && ((build)) || [[ ! -e $KBENCH ]]; then
        if [[ $KBENCH == "$DEFAULT_KBENCH" ]]; then cargo_build; fi
    fi
    if [[ $DEAGGREGATE == "$DEFAULT_DEAGGREGATE" ]] && ((build)) || [[ ! -e $DEAGGREGATE ]]; then
        if [[ $DEAGGREGATE == "$DEFAULT_DEAGGREGATE" ]]; then cargo_build --example deaggregate; fi
    fi
    if [[ $KBENCH != */* ]]; then KBENCH=$(command -v "$KBENCH" || echo "$KBENCH"); fi
    [[ -x "$KBENCH" ]] || die "kbench binary '$KBENCH' not found or not executable (cargo build --release, or set KBENCH)"
    [[ -x "$DEAGGREGATE" ]] ||
        die "'$DEAGGREGATE' not found or not executable (cargo build --release --example deaggregate, or set KBENCH_DEAGGREGATE)"
    local bin newer
    for bin in "$KBENCH" "$DEAGGREGATE"; do
        [[ $bin == "$repo_root/target/"* || $bin == target/* ]] || continue
        newer=$(find src examples Cargo.toml Cargo.lock -type f ! -name tests.rs -newer "$bin" -print -quit 2>/dev/null || true)
        [[ -z $newer ]] || log "note: $bin is older than $newer (--build rebuilds it)"
    done
}

# --- processes -------------------------------------------------------------------------------

work=""
serve_pid=""
kbench_pid=""

stop_serve() {
    [[ -n $serve_pid ]] || return 0
    stop_pid "$serve_pid"
    serve_pid=""
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $kbench_pid ]]; then
        kill -TERM "$kbench_pid" 2>/dev/null || true # timeout passes it on to kbench
        wait "$kbench_pid" 2>/dev/null || true
    fi
    stop_serve
    finish_work "$work" "$rc" "${KBENCH_INTEROP_KEEP:-0}"
    exit "$rc"
}

# start_serve NAME [ARGS...]: starts `kbench serve --port 0 ARGS...` (output in NAME.out, NAME.log)
# and waits until it accepts connections; sets $url.
start_serve() {
    local name=$1 deadline=$((SECONDS + START_TIMEOUT)) rc=0
    shift
    local out="$work/$name.out" errs="$work/$name.log"
    # Emptied here, not only by the redirection below: that one happens in the child, and until it
    # does a file left by an earlier start would hand us the earlier (stopped) endpoint's URL.
    : >"$out"
    : >"$errs"
    "$KBENCH" serve --port 0 "$@" >"$out" 2>"$errs" </dev/null &
    serve_pid=$!
    # its first line is its URL, with the port it picked
    until url=$(head -n 1 "$out" | grep -o 'http://127\.0\.0\.1:[0-9]\+'); do
        kill -0 "$serve_pid" 2>/dev/null || die "kbench serve exited before listening: $(cat "$errs")"
        ((SECONDS < deadline)) ||
            die "kbench serve printed no URL within ${START_TIMEOUT}s (stdout: $(head -c 300 "$out"))"
        sleep 0.1
    done
    wait_port "$serve_pid" "${url##*:}" $((deadline - SECONDS)) || rc=$?
    case $rc in
        0) log "kbench serve listening on $url (pid $serve_pid)" ;;
        2) die "kbench serve exited before listening: $(cat "$errs")" ;;
        *) die "kbench serve did not accept connections on $url within ${START_TIMEOUT}s" ;;
    esac
}

# --- checks ----------------------------------------------------------------------------------

readonly STREAM=kbench-interop
readonly AGG_MAX_BYTES=4096

# write_scenario URL FILE
write_scenario() {
    cat >"$2" <<EOF
# Written by scripts/interop.sh: JSON user records whose "pk" field is their partition key,
# packed into KPL aggregates on a kbench serve endpoint that outlives the run.
name = "interop"
seed = $SEED

[target]
endpoint = "$1"
stream = "$STREAM"
shards = 3
delete_after = false

[producer]
api = "put_records_aggregated"
in_flight = 4
linger = "50ms"
# small enough that some aggregates are cut by size, not only by linger
aggregation = { max_bytes = "${AGG_MAX_BYTES}B" }

[records]
payload = { template = '{"n": {{int 0 1000000}}, "pk": "{{choice user usér}}-{{int 0 300}}", "note": "{{string 16}}"}', key = "pk" }

[[phase]]
name = "interop"
duration = "4s"
rate = 1000

[consumer]
enabled = true
drain = "10s"
EOF
}

# check_kbench_to_reference: check 1; returns 0 on PASS.
check_kbench_to_reference() {
    local rc=0 check_rc=0 url=""
    start_serve serve
    write_scenario "$url" "$work/interop.toml"
    # In the background and waited for, so that a signal to this script is handled at once.
    timeout --kill-after=10 "$RUN_TIMEOUT" \
        "$KBENCH" run "$work/interop.toml" --quiet --json --out "$work/report" \
        >"$work/kbench.json" 2>"$work/kbench.log" </dev/null &
    kbench_pid=$!
    wait "$kbench_pid" || rc=$?
    kbench_pid=""
    ((rc != 124)) || log "kbench run timed out after ${RUN_TIMEOUT}s"
    py "$INTEROP_PY" check-stream "$url" "$STREAM" "$rc" "$work/kbench.json" \
        --max-aggregate-bytes "$AGG_MAX_BYTES" 2>"$work/check-stream.log" || check_rc=$?
    stop_serve
    return "$check_rc"
}

# check_reference_to_kbench: check 2; returns 0 on PASS.
check_reference_to_kbench() {
    local rc=0
    py "$INTEROP_PY" make-aggregates "$work/python-agg.hex" "$work/python-agg.expected.json" \
        --seed "$SEED" 2>"$work/make-aggregates.log" ||
        { cat "$work/make-aggregates.log" >&2; echo "FAIL aws-kinesis-agg -> kbench: could not make the aggregates"; return 1; }
    "$DEAGGREGATE" <"$work/python-agg.hex" >"$work/deaggregated.jsonl" 2>"$work/deaggregate.log" || rc=$?
    py "$INTEROP_PY" check-deaggregated "$work/python-agg.expected.json" "$work/deaggregated.jsonl" "$rc"
}

# check_efo: check 3; returns 0 on PASS.
check_efo() {
    local rc=0 url=""
    start_serve serve-efo --efo-session 2s
    py "$INTEROP_PY" check-efo "$url" kbench-interop-efo --timeout "$RUN_TIMEOUT" \
        2>"$work/check-efo.log" || rc=$?
    if ((rc != 0)) && [[ -s $work/check-efo.log ]]; then tail -n 20 "$work/check-efo.log" >&2; fi
    stop_serve
    return "$rc"
}

# check_s3: check 4; returns 0 on PASS.
check_s3() {
    local rc=0 url=""
    start_serve serve-s3 --s3-dir "$work/s3"
    py "$INTEROP_PY" check-s3 "$url" "$work/s3" --timeout "$RUN_TIMEOUT" \
        2>"$work/check-s3.log" || rc=$?
    if ((rc != 0)) && [[ -s $work/check-s3.log ]]; then tail -n 20 "$work/check-s3.log" >&2; fi
    stop_serve
    return "$rc"
}

# --- main ------------------------------------------------------------------------------------

started=$SECONDS
require_tools python3=python3 pip=python3-pip timeout=coreutils
install_python
if ((install_only)); then
    log "installed: ${PY_PACKAGES[*]} (in $PY_DIR)"
    exit 0
fi
ensure_binaries

work=$(mktemp -d "${TMPDIR:-/tmp}/kbench-interop.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0
check_kbench_to_reference || failed=1
check_reference_to_kbench || failed=1
check_efo || failed=1
check_s3 || failed=1
log "done in $((SECONDS - started))s"
exit "$failed"

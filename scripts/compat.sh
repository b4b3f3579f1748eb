#!/usr/bin/env bash
# Compatibility smoke test: runs scenarios/compat.toml against kinesalite and kinesis-mock, and
# scenarios/compat-fan-out.toml (a polling and an enhanced fan-out consumer) against kinesis-mock;
# against kinesalite, which has no enhanced fan-out, that scenario must fail at once with a
# message that says so (exit 1), not hang.
#
#   scripts/compat.sh [--install-only] [kinesalite] [kinesis-mock]
#
# Installs the emulators from npm at pinned versions into a cache folder (once), starts each
# on a free loopback port, runs kbench against it and checks the accounting in its JSON
# summary. Prints one PASS/FAIL line per emulator; exits non-zero if any fails.
#
# Environment:
#   KBENCH                       kbench binary (default target/release/kbench)
#   KBENCH_COMPAT_CACHE          install folder (default $HOME/.cache/kbench-compat)
#   KBENCH_COMPAT_SCENARIO       scenario file (default scenarios/compat.toml)
#   KBENCH_COMPAT_START_TIMEOUT  seconds an emulator may take to accept connections (default 60)
#   KBENCH_COMPAT_RUN_TIMEOUT    seconds one kbench run may take (default 300)
#   KBENCH_COMPAT_KEEP=1         keep the temp folder (logs, reports) even on success
#
# Only 127.0.0.1 is contacted, apart from the npm registry for the installs.
set -euo pipefail

# The pinned versions, the install into the cache and the start and stop of the emulators are in
# lib.sh (shared with bench.sh).

# Paths given in the environment are relative to the caller's directory; defaults to the repo.
SCRIPT_NAME=compat
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [[ -n ${KBENCH:-} && $KBENCH == */* ]]; then KBENCH=$(abs_path "$KBENCH"); fi
SCENARIO=""
if [[ -n ${KBENCH_COMPAT_SCENARIO:-} ]]; then SCENARIO=$(abs_path "$KBENCH_COMPAT_SCENARIO"); fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
KBENCH=${KBENCH:-target/release/kbench}
SCENARIO=${SCENARIO:-scenarios/compat.toml}
FAN_OUT=scenarios/compat-fan-out.toml
START_TIMEOUT=${KBENCH_COMPAT_START_TIMEOUT:-60}
RUN_TIMEOUT=${KBENCH_COMPAT_RUN_TIMEOUT:-300}

install_only=0
targets=()
for arg in "$@"; do
    case "$arg" in
        --install-only) install_only=1 ;;
        kinesalite | kinesis-mock) targets+=("$arg") ;;
        -h | --help)
            sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "compat: unknown argument '$arg' (see --help)" >&2
            exit 1
            ;;
    esac
done
if ((${#targets[@]} == 0)); then
    targets=(kinesalite kinesis-mock)
fi

# --- processes -------------------------------------------------------------------------------

work=""
kbench_pid=""

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n "$kbench_pid" ]]; then
        kill -TERM "$kbench_pid" 2>/dev/null || true # timeout passes it on to kbench
        wait "$kbench_pid" 2>/dev/null || true
    fi
    stop_emulators
    finish_work "$work" "$rc" "${KBENCH_COMPAT_KEEP:-0}"
    exit "$rc"
}

# --- checks ----------------------------------------------------------------------------------

# check NAME ENDPOINT RC JSON_FILE: prints PASS/FAIL, returns 0 on PASS.
check() {
    python3 - "$@" <<'PY'
import json, sys

name, endpoint, rc, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = open(path, encoding="utf-8", errors="replace").read()

def parse(text):
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None

d = parse(text)
problems = []
acc = {}
if not isinstance(d, dict):
    problems.append("no JSON object on stdout")
else:
    variants = d.get("variants")
    if not isinstance(variants, list) or not variants:
        problems.append("no 'variants' list in the JSON")
        variants = []
    # every API variant must be clean; the counts shown add the variants up
    for v in variants:
        a = v.get("accounting") if isinstance(v, dict) else None
        if not isinstance(a, dict):
            problems.append("a variant has no 'accounting' object")
            continue
        for key, value in a.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                acc[key] = acc.get(key, 0) + value
        if a.get("lost") not in (0, None):
            problems.append(f"{v.get('api')}: lost={a.get('lost')}")
        if a.get("acknowledged") != a.get("scheduled"):
            problems.append(f"{v.get('api')}: acknowledged {a.get('acknowledged')} != scheduled {a.get('scheduled')}")
        # each consumer (schema 3) read back every acknowledged record, once
        for c in v.get("consumers") or []:
            ca = c.get("accounting") or {}
            if ca.get("lost") != 0 or ca.get("received") != a.get("acknowledged"):
                problems.append(f"{v.get('api')}: consumer {c.get('name')} ({c.get('kind')}): received {ca.get('received')} of {a.get('acknowledged')}, lost {ca.get('lost')}")
            if ca.get("duplicates") not in (0, None):
                problems.append(f"{v.get('api')}: consumer {c.get('name')}: duplicates {ca.get('duplicates')}")
    if len(variants) != len(set(v.get("api") for v in variants if isinstance(v, dict))):
        problems.append("variants repeat")

def num(key):
    v = acc.get(key)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None

scheduled, acked, lost = num("scheduled"), num("acknowledged"), num("lost")
received = num("received")
if received is None and isinstance(d, dict) and isinstance(d.get("consumer"), dict):
    v = d["consumer"].get("received")
    received = v if isinstance(v, (int, float)) else None

if acc:
    if lost is None:
        problems.append("accounting.lost missing")
    elif lost != 0:
        problems.append(f"lost={lost}")
    if acked is None:
        problems.append("accounting.acknowledged missing")
    elif acked <= 0:
        problems.append("nothing acknowledged")
    if scheduled is None:
        problems.append("accounting.scheduled missing")
    elif acked is not None and acked != scheduled:
        problems.append(f"acknowledged {acked} != scheduled {scheduled}")
if rc != 0:
    problems.insert(0, f"kbench exited {rc}")

def show(v):
    return "?" if v is None else str(v)

counts = (f"scheduled={show(scheduled)} acknowledged={show(acked)} "
          f"received={show(received)} lost={show(lost)}")
if problems:
    print(f"FAIL {name} ({endpoint}): {counts}: {'; '.join(problems)}")
    sys.exit(1)
print(f"PASS {name} ({endpoint}): {counts}")
PY
}

# kbench_against LABEL ENDPOINT SCENARIO: runs kbench in the background (waited for, so that a
# signal to this script is handled at once); sets kbench_rc.
kbench_against() {
    local label=$1 endpoint=$2 scenario=$3
    kbench_rc=0
    timeout --kill-after=10 "$RUN_TIMEOUT" \
        "$KBENCH" run "$scenario" --endpoint "$endpoint" --quiet --json \
        --out "$work/$label-report" \
        >"$work/$label.json" 2>"$work/$label.kbench.log" </dev/null &
    kbench_pid=$!
    wait "$kbench_pid" || kbench_rc=$?
    kbench_pid=""
    ((kbench_rc != 124)) || log "kbench ($label) timed out after ${RUN_TIMEOUT}s"
}

# run_one NAME: starts NAME, runs kbench against it, checks; returns 0 on PASS.
run_one() {
    local name=$1 port failed=0
    start_emulator "$name" "$work" "$START_TIMEOUT"
    port=$emulator_port
    local endpoint="http://127.0.0.1:$port"
    kbench_against "$name" "$endpoint" "$SCENARIO"
    check "$name" "$endpoint" "$kbench_rc" "$work/$name.json" || failed=1
    case "$name" in
        kinesis-mock)
            kbench_against "$name-fan-out" "$endpoint" "$FAN_OUT"
            check "$name-fan-out" "$endpoint" "$kbench_rc" "$work/$name-fan-out.json" || failed=1
            ;;
        kinesalite)
            # no enhanced fan-out there: a clear refusal before any record is sent, exit 1
            local said="$work/$name-fan-out.kbench.log"
            kbench_against "$name-fan-out" "$endpoint" "$FAN_OUT"
            if ((kbench_rc == 1)) && grep -q "does not support enhanced fan-out" "$said"; then
                echo "PASS $name-fan-out ($endpoint): refused: $(grep -m1 'does not support' "$said")"
            else
                echo "FAIL $name-fan-out ($endpoint): expected exit 1 and 'does not support enhanced fan-out', got exit $kbench_rc: $(tail -c 400 "$said")"
                failed=1
            fi
            ;;
    esac
    stop_emulators
    return "$failed"
}

# --- main ------------------------------------------------------------------------------------

require_tools node=nodejs npm=npm python3=python3 timeout=coreutils
install_emulators "${targets[@]}"
if ((install_only)); then
    log "installed: ${targets[*]} (cache $EMULATOR_CACHE)"
    exit 0
fi

if [[ $KBENCH != */* ]]; then KBENCH=$(command -v "$KBENCH" || echo "$KBENCH"); fi
[[ -x "$KBENCH" ]] || die "kbench binary '$KBENCH' not found or not executable (cargo build --release, or set KBENCH)"
[[ -f "$SCENARIO" ]] || die "scenario '$SCENARIO' not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/kbench-compat.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0
for t in "${targets[@]}"; do
    run_one "$t" || failed=1
done
exit "$failed"

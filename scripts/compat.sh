#!/usr/bin/env bash
# Compatibility smoke test: runs scenarios/compat.toml against kinesalite and kinesis-mock.
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

readonly KINESALITE_VERSION=3.3.3
readonly KINESIS_MOCK_VERSION=0.6.2 # npm package kinesis-local

# Paths given in the environment are relative to the caller's directory; defaults to the repo.
SCRIPT_NAME=compat
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CACHE=$(abs_path "${KBENCH_COMPAT_CACHE:-$HOME/.cache/kbench-compat}")
if [[ -n ${KBENCH:-} && $KBENCH == */* ]]; then KBENCH=$(abs_path "$KBENCH"); fi
SCENARIO=""
if [[ -n ${KBENCH_COMPAT_SCENARIO:-} ]]; then SCENARIO=$(abs_path "$KBENCH_COMPAT_SCENARIO"); fi

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"
KBENCH=${KBENCH:-target/release/kbench}
SCENARIO=${SCENARIO:-scenarios/compat.toml}
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



# --- install ---------------------------------------------------------------------------------

# installed_version DIR PKG: the version of PKG under DIR/node_modules, or nothing.
installed_version() {
    node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
        "$1/node_modules/$2/package.json" 2>/dev/null || true
}

# npm_install PKG VERSION: installs PKG@VERSION into $CACHE/PKG-VERSION unless already there.
# Installs into a scratch folder first and renames it, so an interrupted install leaves nothing
# that looks complete. kinesalite's optional native dependency (leveldown) is only used with
# --path; it runs in memory here, so its build (or its absence) does not matter.
npm_install() {
    local pkg=$1 version=$2 dir="$CACHE/$1-$2"
    if [[ -f "$dir/.installed" && $(installed_version "$dir" "$pkg") == "$version" ]]; then
        return 0
    fi
    local scratch="$dir.partial.$$"
    rm -rf "$dir".partial.*
    mkdir -p "$scratch"
    log "installing $pkg@$version into $dir"
    if ! npm install --prefix "$scratch" --no-audit --no-fund --no-save --loglevel=error \
        "$pkg@$version" >"$scratch.log" 2>&1; then
        cat "$scratch.log" >&2
        rm -rf "$scratch" "$scratch.log"
        die "npm install $pkg@$version failed"
    fi
    rm -f "$scratch.log"
    [[ $(installed_version "$scratch" "$pkg") == "$version" ]] ||
        die "npm installed something other than $pkg@$version in $scratch"
    rm -rf "$dir"
    mv "$scratch" "$dir"
    echo "$pkg@$version" >"$dir/.installed"
}

install_all() {
    mkdir -p "$CACHE"
    # Serialise concurrent runs sharing the cache.
    exec 9>"$CACHE/.lock"
    if command -v flock >/dev/null; then flock 9; fi
    local t
    for t in "${targets[@]}"; do
        case "$t" in
            kinesalite) npm_install kinesalite "$KINESALITE_VERSION" ;;
            kinesis-mock) npm_install kinesis-local "$KINESIS_MOCK_VERSION" ;;
        esac
    done
    exec 9>&-
}

# --- processes -------------------------------------------------------------------------------

work=""
pids=()
kbench_pid=""

# Stops the emulators this script started (TERM, then KILL after 5 s) and reaps them.
stop_emulators() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

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


# wait_port PID PORT: 0 once 127.0.0.1:PORT accepts a TCP connection, 2 if PID exits first,
# 1 after START_TIMEOUT seconds.
wait_port() {
    local pid=$1 port=$2 deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 2
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# launch NAME PORT LOG: starts emulator NAME listening on PORT in the background; sets $launched.
launch() {
    local name=$1 port=$2 logf=$3
    case "$name" in
        kinesalite)
            # In memory (no --path); stream state changes take 50 ms instead of 500 ms.
            # Listens on all interfaces (the CLI has no host option); only 127.0.0.1 is used.
            AWS_REGION=us-east-1 \
                "$CACHE/kinesalite-$KINESALITE_VERSION/node_modules/.bin/kinesalite" \
                --port "$port" --createStreamMs 50 --deleteStreamMs 50 --updateStreamMs 50 \
                >"$logf" 2>&1 </dev/null &
            ;;
        kinesis-mock)
            # main.js reads server.json (its TLS certificate) from the working directory. It
            # always opens a TLS port too (default 4567), so give it a free one as well.
            local tls_port
            tls_port=$(free_port)
            (
                cd "$CACHE/kinesis-local-$KINESIS_MOCK_VERSION/node_modules/kinesis-local"
                exec env \
                    KINESIS_MOCK_PLAIN_PORT="$port" \
                    KINESIS_MOCK_TLS_PORT="$tls_port" \
                    AWS_REGION=us-east-1 \
                    CREATE_STREAM_DURATION=50ms \
                    DELETE_STREAM_DURATION=50ms \
                    UPDATE_SHARD_COUNT_DURATION=50ms \
                    SHOULD_PERSIST_DATA=false \
                    LOG_LEVEL=INFO \
                    node main.js
            ) >"$logf" 2>&1 </dev/null &
            ;;
    esac
    launched=$!
}

# start NAME: starts emulator NAME and waits for it to accept connections; sets $port.
# Retries on a new port if the process dies early (the chosen port can be taken in between).
start() {
    local name=$1 attempt rc logf
    for attempt in 1 2 3; do
        port=$(free_port)
        logf="$work/$name.log"
        [[ $attempt == 1 ]] || logf="$work/$name.attempt$attempt.log"
        launch "$name" "$port" "$logf"
        pids+=("$launched")
        rc=0
        wait_port "$launched" "$port" || rc=$?
        case $rc in
            0)
                log "$name listening on 127.0.0.1:$port (pid $launched)"
                return 0
                ;;
            1) die "$name did not accept connections on 127.0.0.1:$port within ${START_TIMEOUT}s" ;;
            2) log "$name exited before listening on 127.0.0.1:$port (attempt $attempt)" ;;
        esac
    done
    die "$name failed to start"
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

# run_one NAME: starts NAME, runs kbench against it, checks; returns 0 on PASS.
run_one() {
    local name=$1 port rc=0
    start "$name"
    local endpoint="http://127.0.0.1:$port"
    # In the background and waited for, so that a signal to this script is handled at once.
    timeout --kill-after=10 "$RUN_TIMEOUT" \
        "$KBENCH" run "$SCENARIO" --endpoint "$endpoint" --quiet --json \
        --out "$work/$name-report" \
        >"$work/$name.json" 2>"$work/$name.kbench.log" </dev/null &
    kbench_pid=$!
    wait "$kbench_pid" || rc=$?
    kbench_pid=""
    ((rc != 124)) || log "kbench against $name timed out after ${RUN_TIMEOUT}s"
    stop_emulators
    check "$name" "$endpoint" "$rc" "$work/$name.json"
}

# --- main ------------------------------------------------------------------------------------

require_tools node=nodejs npm=npm python3=python3 timeout=coreutils
install_all
if ((install_only)); then
    log "installed: ${targets[*]} (cache $CACHE)"
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

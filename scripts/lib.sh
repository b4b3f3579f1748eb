# shellcheck shell=bash
# Shared by the scripts (compat.sh, interop.sh, bench.sh): source it after setting SCRIPT_NAME,
# before changing directory (KBENCH_COMPAT_CACHE is relative to the caller's directory).
#
#   SCRIPT_NAME=compat; source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# abs_path PATH: PATH made absolute against the caller's directory.
abs_path() { if [[ $1 == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

log() { echo "${SCRIPT_NAME:-kbench}: $*" >&2; }

die() {
    log "error: $*"
    exit 1
}

# have TOOL: whether TOOL works ("pip" means python3's pip module).
have() {
    case "$1" in
        pip) python3 -m pip --version >/dev/null 2>&1 ;;
        *) command -v "$1" >/dev/null ;;
    esac
}

# require_tools TOOL=DEBIAN_PACKAGE...: installs the packages of the tools that are missing with
# apt-get (as root), or stops naming them.
require_tools() {
    local missing=() spec
    for spec in "$@"; do
        have "${spec%%=*}" || missing+=("${spec#*=}")
    done
    if ((${#missing[@]} > 0)); then
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            log "installing ${missing[*]} with apt-get"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        else
            die "missing tools: ${missing[*]} (install them, or run as root where apt-get works)"
        fi
    fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# wait_port PID PORT TIMEOUT: 0 once 127.0.0.1:PORT accepts a TCP connection, 2 if PID exits
# first, 1 after TIMEOUT seconds (tries at least once, even with a TIMEOUT of 0).
wait_port() {
    local pid=$1 port=$2 deadline=$((SECONDS + $3))
    while :; do
        kill -0 "$pid" 2>/dev/null || return 2
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# stop_pid PID: stops PID (TERM, then KILL after 5 s) and reaps it; for processes this script
# started in the background.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# finish_work DIR RC KEEP: on failure (RC != 0) prints the tail of DIR's logs and keeps DIR; keeps
# it too when KEEP is 1; otherwise removes it.
finish_work() {
    local dir=$1 rc=$2 keep=$3 f
    [[ -n $dir && -d $dir ]] || return 0
    if ((rc != 0)); then
        for f in "$dir"/*.log "$dir"/*.json; do
            [[ -s $f ]] || continue
            echo "----- ${f##*/} (last 60 lines) -----" >&2
            tail -n 60 "$f" >&2 || true
        done
        log "logs and reports kept in $dir"
    elif [[ $keep == 1 ]]; then
        log "logs and reports kept in $dir"
    else
        rm -rf "$dir"
    fi
}

# --- emulators: kinesalite and kinesis-mock from npm (compat.sh, bench.sh) ---------------------

readonly KINESALITE_VERSION=3.3.3
readonly KINESIS_MOCK_VERSION=0.6.2 # npm package kinesis-local

# Where they are installed, shared by every script so that one install serves all.
EMULATOR_CACHE=$(abs_path "${KBENCH_COMPAT_CACHE:-$HOME/.cache/kbench-compat}")

# installed_version DIR PKG: the version of PKG under DIR/node_modules, or nothing.
installed_version() {
    node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
        "$1/node_modules/$2/package.json" 2>/dev/null || true
}

# npm_install PKG VERSION: installs PKG@VERSION into $EMULATOR_CACHE/PKG-VERSION unless already
# there. Installs into a scratch folder first and renames it, so an interrupted install leaves
# nothing that looks complete. kinesalite's optional native dependency (leveldown) is only used
# with --path; it runs in memory here, so its build (or its absence) does not matter.
npm_install() {
    local pkg=$1 version=$2 dir="$EMULATOR_CACHE/$1-$2"
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

# emulators_installed NAME...: whether every emulator NAME is in the cache at its pinned version.
emulators_installed() {
    local name
    for name in "$@"; do
        case "$name" in
            kinesalite) [[ -f "$EMULATOR_CACHE/kinesalite-$KINESALITE_VERSION/.installed" ]] ;;
            kinesis-mock) [[ -f "$EMULATOR_CACHE/kinesis-local-$KINESIS_MOCK_VERSION/.installed" ]] ;;
            *) die "unknown emulator '$name'" ;;
        esac || return 1
    done
}

# install_emulators NAME...: installs emulators kinesalite and/or kinesis-mock (needs node, and
# npm unless they are already in the cache).
install_emulators() {
    mkdir -p "$EMULATOR_CACHE"
    # Serialise concurrent runs sharing the cache.
    exec 9>"$EMULATOR_CACHE/.lock"
    if command -v flock >/dev/null; then flock 9; fi
    local name
    for name in "$@"; do
        case "$name" in
            kinesalite) npm_install kinesalite "$KINESALITE_VERSION" ;;
            kinesis-mock) npm_install kinesis-local "$KINESIS_MOCK_VERSION" ;;
            *) die "unknown emulator '$name'" ;;
        esac
    done
    exec 9>&-
}

# The emulators started by start_emulator and not stopped yet: stop_emulators in an EXIT trap.
emulator_pids=()

# launch_emulator NAME PORT LOG: starts emulator NAME listening on PORT in the background; sets
# $launched to its pid.
launch_emulator() {
    local name=$1 port=$2 logf=$3
    case "$name" in
        kinesalite)
            # In memory (no --path); stream state changes take 50 ms instead of 500 ms.
            # Listens on all interfaces (the CLI has no host option); only 127.0.0.1 is used.
            AWS_REGION=us-east-1 \
                "$EMULATOR_CACHE/kinesalite-$KINESALITE_VERSION/node_modules/.bin/kinesalite" \
                --port "$port" --createStreamMs 50 --deleteStreamMs 50 --updateStreamMs 50 \
                >"$logf" 2>&1 </dev/null &
            ;;
        kinesis-mock)
            # main.js reads server.json (its TLS certificate) from the working directory. It
            # always opens a TLS port too (default 4567), so give it a free one as well.
            local tls_port
            tls_port=$(free_port)
            (
                cd "$EMULATOR_CACHE/kinesis-local-$KINESIS_MOCK_VERSION/node_modules/kinesis-local" || exit 1
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
        *) die "unknown emulator '$name'" ;;
    esac
    launched=$!
}

# start_emulator NAME LOG_DIR TIMEOUT: starts emulator NAME on a free loopback port, logging to
# LOG_DIR/NAME.log, and waits up to TIMEOUT seconds for it to accept connections; sets
# $emulator_port. Retries on a new port if the process dies early (the chosen port can be taken
# in between); stops the script (die) if it cannot start.
start_emulator() {
    local name=$1 dir=$2 timeout=$3 attempt rc logf port
    for attempt in 1 2 3; do
        port=$(free_port)
        logf="$dir/$name.log"
        [[ $attempt == 1 ]] || logf="$dir/$name.attempt$attempt.log"
        launch_emulator "$name" "$port" "$logf"
        emulator_pids+=("$launched")
        rc=0
        wait_port "$launched" "$port" "$timeout" || rc=$?
        case $rc in
            0)
                log "$name listening on 127.0.0.1:$port (pid $launched)"
                # shellcheck disable=SC2034 # read by the caller
                emulator_port=$port
                return 0
                ;;
            1) die "$name did not accept connections on 127.0.0.1:$port within ${timeout}s" ;;
            2) log "$name exited before listening on 127.0.0.1:$port (attempt $attempt)" ;;
        esac
    done
    die "$name failed to start"
}

# stop_emulators: stops the emulators start_emulator started (TERM, then KILL after 5 s) and
# reaps them.
stop_emulators() {
    local pid
    for pid in "${emulator_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${emulator_pids[@]}"; do
        stop_pid "$pid"
    done
    emulator_pids=()
}

# shellcheck shell=bash
# Shared by the check scripts (compat.sh, interop.sh): source it after setting SCRIPT_NAME.
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

#!/usr/bin/env bash
# The nightly regression gate: runs a scenario, compares it with a stored baseline report
# directory, keeps the new report directory, and exits non-zero on an SLO breach or a regression.
#
#   scripts/nightly.sh SCENARIO BASELINE_DIR [kbench run flags...]
#   scripts/nightly.sh --refresh-baseline SCENARIO BASELINE_DIR [kbench run flags...]
#
# The first form runs `kbench run SCENARIO --baseline BASELINE_DIR`; flags after BASELINE_DIR go
# to kbench run (e.g. --max-regression 15% --max-regression put_p99=25%, --endpoint aws).
# The second form runs the scenario and, when it passes its SLO, stores its report directory as
# BASELINE_DIR (replacing the report that was there; --max-regression flags are ignored then).
# Commit that directory, or keep it where CI finds it.
#
# Exit codes are kbench's: 0 within the SLO and the limits, 2 SLO breached or regressed,
# 1 an error (no baseline, bad scenario, endpoint down), 130 interrupted.
#
# Environment:
#   KBENCH              kbench binary, a path or a name on PATH (default: cargo build --release,
#                       then target/release/kbench)
#   KBENCH_NIGHTLY_OUT  where report directories go (default results/nightly)
set -euo pipefail

SCRIPT_NAME=nightly
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    die "usage: scripts/nightly.sh [--refresh-baseline] SCENARIO BASELINE_DIR [kbench run flags...]"
}

refresh=0
if [[ ${1:-} == --refresh-baseline ]]; then
    refresh=1
    shift
fi
(($# >= 2)) || usage
scenario=$(abs_path "$1")
baseline=$(abs_path "${2%/}")
shift 2
out=$(abs_path "${KBENCH_NIGHTLY_OUT:-results/nightly}")
if [[ -n ${KBENCH:-} ]]; then
    if [[ $KBENCH == */* ]]; then KBENCH=$(abs_path "$KBENCH"); else KBENCH=$(command -v "$KBENCH" || echo "$KBENCH"); fi
fi
# the flags for kbench run; --max-regression only means something against a baseline
run_flags=()
while (($# > 0)); do
    case $1 in
        --json | --json=*) die "--json hides the summary this script reads the report directory from; leave it out" ;;
        --max-regression=*) ((refresh)) || run_flags+=("$1") ;;
        --max-regression)
            ((refresh)) || run_flags+=("$1" "${2:-}")
            shift
            ;;
        *) run_flags+=("$1") ;;
    esac
    shift
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -z ${KBENCH:-} ]]; then
    log "building kbench (release)"
    cargo build --release --locked --quiet
    KBENCH=$PWD/target/release/kbench
fi
[[ -x $KBENCH ]] || die "no kbench binary at $KBENCH"
[[ -f $scenario ]] || die "no scenario file at $scenario"

args=(run "$scenario" --quiet --out "$out")
if ((refresh == 1)); then
    # never replace a directory that is not a kbench report (a typo such as `.` or `/`)
    if [[ -e $baseline && ! -f $baseline/run.json ]]; then
        die "$baseline exists and is not a report directory (no run.json); not replacing it: give a new or report path"
    fi
else
    [[ -f $baseline/run.json ]] ||
        die "no baseline at $baseline (run.json missing); create one with: scripts/nightly.sh --refresh-baseline ${scenario#"$PWD"/} ${baseline#"$PWD"/}"
    args+=(--baseline "$baseline")
fi
mkdir -p "$out"
console=$(mktemp "$out/.console.XXXXXX")
trap 'rm -f "$console"' EXIT

log "kbench ${args[*]} ${run_flags[*]}"
rc=0
"$KBENCH" "${args[@]}" "${run_flags[@]}" 2>&1 | tee "$console" || rc=${PIPESTATUS[0]}

dir=$(sed -n 's/^report: //p' "$console" | tail -n 1)
if [[ -z $dir || ! -d $dir ]]; then
    log "kbench exited $rc and left no report directory"
    exit "$((rc == 0 ? 1 : rc))"
fi
cp "$console" "$dir/console.txt"
log "report directory: $dir"

if ((refresh == 1)); then
    if ((rc != 0)); then
        log "not stored as the baseline: the run exited $rc (see above)"
        exit "$rc"
    fi
    rm -rf "$baseline.partial"
    mkdir -p "$(dirname "$baseline")"
    cp -r "$dir" "$baseline.partial"
    rm -rf "$baseline"
    mv "$baseline.partial" "$baseline"
    log "stored as the baseline: $baseline"
    exit 0
fi

case $rc in
    0) log "PASS: within the SLO and the regression limits" ;;
    2) log "FAIL: SLO breached or regressed against $baseline (see baseline.txt in the report)" ;;
    *) log "FAIL: kbench exited $rc" ;;
esac
exit "$rc"

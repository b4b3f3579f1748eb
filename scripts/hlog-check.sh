#!/usr/bin/env bash
# Reads kbench's HdrHistogram interval logs with HdrHistogram's own Python port.
#
#   scripts/hlog-check.sh
#
# Runs a short scenario (scenarios/steady.toml, 6 s) on the embedded endpoint, then reads
# put.hlog and e2e.hlog with hdrh.log.HistogramLogReader (PyPI `hdrhistogram`, pinned) and checks,
# for every measured phase, that the intervals tagged <api>/<phase> add up to the phase's count in
# run.json, with its p99 and max within the histograms' resolution. Prints PASS/FAIL.
#
# Environment:
#   KBENCH              kbench binary (default target/release/kbench)
#   KBENCH_HLOG_CACHE   install folder (default $HOME/.cache/kbench-hlog)
#   KBENCH_HLOG_KEEP=1  keep the temp folder (report, logs)
#
# Only 127.0.0.1 is contacted, apart from PyPI for the install.
set -euo pipefail

readonly PY_PACKAGES=(hdrhistogram==0.10.8 pbr==7.1.3 setuptools==84.2.1)

SCRIPT_NAME=hlog
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CACHE=$(abs_path "${KBENCH_HLOG_CACHE:-$HOME/.cache/kbench-hlog}")
if [[ -n ${KBENCH:-} && $KBENCH == */* ]]; then KBENCH=$(abs_path "$KBENCH"); fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KBENCH=${KBENCH:-target/release/kbench}
PY_DIR="$CACHE/py"

require_tools python3=python3 pip=python3-pip
[[ -x $KBENCH ]] || die "no kbench binary at $KBENCH; run cargo build --release first"

stamp="${PY_PACKAGES[*]} $(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ ! -f "$PY_DIR/.installed" || $(cat "$PY_DIR/.installed") != "$stamp" ]]; then
    log "installing ${PY_PACKAGES[*]} into $PY_DIR"
    rm -rf "$PY_DIR"
    mkdir -p "$CACHE"
    # --target never touches the system Python, so PEP 668's guard does not apply
    PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet \
        --disable-pip-version-check --no-warn-conflicts --no-input --target "$PY_DIR.partial" \
        "${PY_PACKAGES[@]}" || die "pip install ${PY_PACKAGES[*]} failed"
    mv "$PY_DIR.partial" "$PY_DIR"
    echo "$stamp" >"$PY_DIR/.installed"
fi

work=$(mktemp -d)
cleanup() { finish_work "$work" "${failed:-0}" "${KBENCH_HLOG_KEEP:-0}"; }
trap cleanup EXIT

if ! "$KBENCH" run scenarios/steady.toml --duration 6s --quiet --json --out "$work/results" \
    >"$work/summary.json" 2>"$work/kbench.log"; then
    failed=1
    cat "$work/kbench.log" >&2
    die "kbench run failed"
fi
report=$(find "$work/results" -mindepth 1 -maxdepth 1 -type d | head -1)

if ! PYTHONPATH="$PY_DIR" PYTHONNOUSERSITE=1 python3 - "$report" <<'PY'; then
import json, math, sys
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

report = sys.argv[1]
run = json.load(open(f"{report}/run.json"))
problems, checked = [], []

def value_at_quantile(h, q):
    # kbench (the Rust hdrhistogram crate) takes the value at rank ceil(q * count); the Python
    # port's get_value_at_percentile rounds the rank to nearest instead, which in a sparse tail
    # lands one record lower. Read the log with the same definition as run.json.
    rank = max(1, math.ceil(q * h.get_total_count()))
    seen = 0
    for index in range(h.counts_len):
        seen += h.get_count_at_index(index)
        if seen >= rank:
            return h.get_highest_equivalent_value(h.get_value_from_index(index))
    return 0

def close(a, b):
    # equal within 3 significant digits, the histograms' resolution
    return abs(a - b) <= max(1, 0.002 * max(a, b))

for name, field in (("put.hlog", "put"), ("e2e.hlog", "e2e")):
    merged = {}
    reader = HistogramLogReader(f"{report}/{name}", HdrHistogram(1, 24 * 3600 * 10**6, 3))
    while True:
        h = reader.get_next_interval_histogram()
        if h is None:
            break
        tag = h.get_tag()
        if tag not in merged:
            merged[tag] = HdrHistogram(1, 24 * 3600 * 10**6, 3)
        merged[tag].add(h)
    for v in run["variants"]:
        for p in v["phases"]:
            if p["phase"] == "total" or not p["measure"]:
                continue
            want = p[field]
            tag = f'{v["api"]}/{p["phase"]}'
            h = merged.get(tag)
            if h is None:
                problems.append(f"{name}: no histograms tagged {tag} (tags: {sorted(merged)})")
                continue
            got = (h.get_total_count(), value_at_quantile(h, 0.99), h.get_max_value())
            expected = (want["count"], round(want["p99_ms"] * 1000), round(want["max_ms"] * 1000))
            if got[0] != expected[0] or not close(got[1], expected[1]) or not close(got[2], expected[2]):
                problems.append(f"{name} {tag}: count/p99/max {got} in the log, {expected} in run.json")
            checked.append(f"{name} {tag}: {got[0]} records, p99 {got[1]} us")
if problems or not checked:
    print("FAIL HdrHistogram's log reader: " + "; ".join(problems or ["nothing checked"]))
    sys.exit(1)
print("PASS HdrHistogram's log reader (hdrh): " + "; ".join(checked))
PY
    failed=1
    exit 1
fi

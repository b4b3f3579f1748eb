#!/usr/bin/env bash
# Performance benchmark: measures kbench against the targets of PERFORMANCE.md and prints one
# table (figure, reference, ratio, target, verdict), also written to results/bench/<UTC>.csv.
#
#   scripts/bench.sh
#
# Builds kbench and examples/bare_put_records in release mode (in cargo's target directory, so
# CARGO_TARGET_DIR is followed), starts `kbench serve --null` on a free loopback port, runs each
# measurement, and stops everything it started, also on failure or Ctrl-C. Takes about 3.5
# minutes on 2 cores; the figures are only meaningful on an otherwise idle machine.
#
# What it measures:
#   P1  kbench at rate = "max" vs the bare SDK loop (examples/bare_put_records) on the null
#       endpoint, 500 x 100 B per call, 4 in flight, 5 s each; median of five side-by-side pairs
#   P2  rate accuracy at 1k, 10k and 100k records/s (null endpoint)
#   P3  peak RSS at 50k records/s, 60 s against 10 s (null endpoint)
#   P4  produce + consume end to end: one scenario (4 shards, PutRecords of 500 x 100 B, 4 in
#       flight, consumer on, rate = "max", 10 s) on the embedded endpoint with --no-limits and
#       on kinesalite; the same for 5 s on kinesis-mock, for information.
#   P5  shard-limit fidelity on the embedded endpoint, offered twice the limit
#   P6  the overhead of a 5 s scenario with its consumer (embedded endpoint)
#   P7  an enhanced fan-out consumer beside a polling one in the same run, end to end at 10,000
#       records/s for 10 s on 4 shards, no linger (embedded endpoint, --no-limits): records read
#       back per second by each, and EFO's e2e p50 (pushed, not polled)
#
# Environment:
#   needs cargo, python3 and /usr/bin/time; for P4 also node, and npm the first time:
#   kinesalite 3.3.3 and kinesis-mock 0.6.2 (npm kinesis-local) are installed into the cache
#   compat.sh uses. Without node, kinesalite and kinesis-mock are skipped and the P4 row says so.
#   KBENCH_BENCH_OUT     where the CSV goes (default results/bench)
#   KBENCH_BENCH_KEEP=1  keep the temp folder (logs, reports) even on success
#   KBENCH_COMPAT_CACHE  where the emulators are installed (default $HOME/.cache/kbench-compat)
#   CARGO_TARGET_DIR     cargo's target directory (the binaries are run from there)
#
# Only 127.0.0.1 is contacted, apart from the npm registry for the emulators' first install
# (and crates.io if cargo has to fetch anything for the build).
set -euo pipefail

SCRIPT_NAME=bench
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
OUT=$(abs_path "${KBENCH_BENCH_OUT:-results/bench}")
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

case "${1:-}" in
    "") ;;
    -h | --help)
        # the header: from line 2 to the first line that is not a comment
        sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) die "unknown argument '$1' (see --help)" ;;
esac

require_tools python3=python3 /usr/bin/time=time

# P4's third-party endpoints: they need node, and npm unless they are in the cache already
p4_skip=""
if ! have node; then
    p4_skip="node not found"
elif ! have npm && ! emulators_installed kinesalite kinesis-mock; then
    p4_skip="npm not found"
fi
if [[ -n $p4_skip ]]; then
    log "$p4_skip: P4 skips kinesalite and kinesis-mock (install node and npm to measure it)"
else
    install_emulators kinesalite kinesis-mock
fi

log "building (release)"
cargo build --release --quiet --bin kbench --example bare_put_records
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
KBENCH=$target_dir/release/kbench
BARE=$target_dir/release/examples/bare_put_records

work=$(mktemp -d)
null_pid=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $null_pid ]]; then
        stop_pid "$null_pid"
    fi
    stop_emulators
    finish_work "$work" "$rc" "${KBENCH_BENCH_KEEP:-0}"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the null endpoint, on a free port (retried if the process exits: the port can be taken in
# between)
for attempt in 1 2 3; do
    port=$(free_port)
    "$KBENCH" serve --null --port "$port" >"$work/null.log" 2>&1 </dev/null &
    null_pid=$!
    rc=0
    wait_port "$null_pid" "$port" 10 || rc=$?
    ((rc != 0)) || break
    log "the null endpoint did not start on port $port (attempt $attempt)"
    stop_pid "$null_pid"
    null_pid=""
done
[[ -n $null_pid ]] || die "cannot start kbench serve --null"
NULL_URL=http://127.0.0.1:$port
log "null endpoint on $NULL_URL"

# scenario NAME RATE SECONDS SHARDS CONSUMER [IN_FLIGHT] [KIND]: writes $work/NAME.toml; RATE is
# records/s, or a word such as "max"; KIND the consumer's (default polling)
scenario() {
    local rate=$2
    [[ $rate =~ ^[0-9]+(\.[0-9]+)?$ ]] || rate="\"$rate\""
    cat >"$work/$1.toml" <<EOF
name = "$1"
[target]
shards = $4
[producer]
api = "put_records"
in_flight = ${6:-4}
batch_max_records = 500
linger = "20ms"
[records]
size = "100B"
keys = { dist = "uniform", count = 1000 }
[[phase]]
name = "run"
duration = "${3}s"
rate = $rate
[consumer]
enabled = $5
kind = "${7:-polling}"
EOF
}

# run NAME [kbench run flags...]: runs $work/NAME.toml, keeping its JSON summary in
# $work/NAME.json and /usr/bin/time's report in $work/NAME.time
run() {
    local name=$1
    shift
    # the machine's CPU counters around the run: the share of time the hypervisor took (steal)
    # explains most of the noise in the tail figures on a shared VM
    if [[ -r /proc/stat ]]; then grep '^cpu ' /proc/stat >"$work/$name.cpu"; fi
    /usr/bin/time -v -o "$work/$name.time" "$KBENCH" run "$work/$name.toml" --quiet --json \
        --out "$work/reports" "$@" >"$work/$name.json" 2>"$work/$name.log" || {
        local rc=$?
        # 2 is an SLO breach: these scenarios have none, so it is an error too
        die "kbench run $name failed (exit $rc); see $work/$name.log"
    }
    if [[ -r /proc/stat ]]; then grep '^cpu ' /proc/stat >>"$work/$name.cpu"; fi
}

log "P1: 5 pairs, side by side: the bare SDK loop for 5 s, then kbench at rate = max for 5 s (null endpoint, 500 x 100 B, 4 in flight)"
for i in 1 2 3 4 5; do
    "$BARE" --endpoint "$NULL_URL" --stream bare --batch 500 --record-size 100 --in-flight 4 \
        --duration 5s >"$work/bare-$i.txt"
    bare_rps=$(sed -n 's/^records_per_s=\([0-9]*\).*/\1/p' "$work/bare-$i.txt")
    [[ -n $bare_rps ]] || die "the bare loop printed no rate: $(cat "$work/bare-$i.txt")"
    echo "$bare_rps" >"$work/p1-$i.bare"
    scenario "p1-$i" max 5 4 false
    run "p1-$i" --endpoint "$NULL_URL"
done

log "P2: rate accuracy at 1k, 10k and 100k records/s for 10 s (null endpoint)"
for r in 1000 10000 100000; do
    scenario "p2-$r" "$r" 10 4 false 8
    run "p2-$r" --endpoint "$NULL_URL"
done

log "P3: memory at 50k records/s for 10 s and for 60 s (null endpoint)"
scenario p3-10 50000 10 4 false 8
run p3-10 --endpoint "$NULL_URL"
scenario p3-60 50000 60 4 false 8
run p3-60 --endpoint "$NULL_URL"

# P4: the same closed-loop scenario end to end (consumer on) on each endpoint; only the duration
# differs for kinesis-mock (~1.3k records/s alone), which is informational.
declare -A P4_SECONDS=([embedded]=10 [kinesalite]=10 [kinesis-mock]=5)
log "P4: produce + consume end to end, ${P4_SECONDS[embedded]} s on the embedded endpoint (limits off)"
scenario p4-embedded max "${P4_SECONDS[embedded]}" 4 true 4
run p4-embedded --no-limits
if [[ -n $p4_skip ]]; then
    log "P4: kinesalite and kinesis-mock skipped: $p4_skip"
else
    for emulator in kinesalite kinesis-mock; do
        log "P4: the same on $emulator for ${P4_SECONDS[$emulator]} s"
        start_emulator "$emulator" "$work" 60
        scenario "p4-$emulator" max "${P4_SECONDS[$emulator]}" 4 true 4
        run "p4-$emulator" --endpoint "http://127.0.0.1:$emulator_port"
        stop_emulators
    done
fi

log "P5: 2 shards offered 4,000 records/s, twice their limit, for 10 s (embedded endpoint)"
scenario p5 4000 10 2 false 16
run p5

log "P6: a 5 s scenario at 1,000 records/s with its consumer (embedded endpoint)"
scenario p6 1000 5 2 true
run p6

log "P7: an EFO and a polling consumer in one run at 10,000 records/s for 10 s on 4 shards (embedded endpoint, limits off)"
scenario p7 10000 10 4 true 16
# both consumers in the run, and no linger: e2e includes the put, which a linger would dominate
sed -i -e 's/^linger = .*/linger = "0ms"/' -e '/^\[consumer\]$/,$d' "$work/p7.toml"
printf '[[consumer]]\nname = "polling"\n[[consumer]]\nname = "efo"\nkind = "efo"\n' >>"$work/p7.toml"
run p7 --no-limits

mkdir -p "$OUT"
csv="$OUT/$(date -u +%Y%m%dT%H%M%SZ).csv"
python3 - "$work" "$csv" "$p4_skip" <<'PY'
import csv, json, os, sys

work, out, p4_skip = sys.argv[1], sys.argv[2], sys.argv[3]

def summary(name):
    with open(os.path.join(work, name + ".json")) as f:
        d = json.load(f)
    v = d["variants"][0]
    return d, v, v["phases"][-1]

def rss_mb(name):
    for line in open(os.path.join(work, name + ".time")):
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) / 1024
    raise SystemExit(f"no peak RSS for {name}")

def wall_s(name):
    for line in open(os.path.join(work, name + ".time")):
        if "Elapsed (wall clock)" in line:
            t = line.rsplit(" ", 1)[1].strip().split(":")
            return sum(float(x) * 60 ** i for i, x in enumerate(reversed(t)))
    raise SystemExit(f"no wall time for {name}")

def steal(name):
    """The share of CPU time stolen by the hypervisor during run NAME, as text ("" if unknown)."""
    try:
        before, after = (list(map(int, l.split()[1:])) for l in open(os.path.join(work, name + ".cpu")))
    except (OSError, ValueError):
        return ""
    d = [b - a for a, b in zip(before, after)]
    return f", steal {100 * d[7] / sum(d):.1f}%" if len(d) > 7 and sum(d) > 0 else ""

rows = []
# met: True or False, or a word saying why there is no verdict
def row(pid, what, figure, reference, ratio, target, met):
    rows.append([pid, what, figure, reference, ratio, target,
                 met if isinstance(met, str) else "yes" if met else "NO"])

# the median of five side-by-side pairs (the machine is noisy)
pairs = []
for i in (1, 2, 3, 4, 5):
    bare = float(open(os.path.join(work, f"p1-{i}.bare")).read())
    pairs.append((summary(f"p1-{i}")[2]["achieved_rps"] / bare, summary(f"p1-{i}")[2]["achieved_rps"], bare))
pairs.sort()
ratio, kb, bare = pairs[2]
row("P1", "kbench at rate = \"max\" vs the bare SDK loop, median of 5 pairs (null endpoint, 500 x 100 B, 4 in flight)",
    f"{kb:,.0f} rec/s (ratios {', '.join(f'{p[0]:.2f}' for p in pairs)})", f"bare SDK loop {bare:,.0f} rec/s",
    f"{ratio:.2f}", ">= 0.80", ratio >= 0.8)
for r in (1000, 10000, 100000):
    _, _, t = summary(f"p2-{r}")
    err = (t["achieved_rps"] / r - 1) * 100
    lag = t["schedule_lag"]["p99_ms"]
    row("P2", f"rate accuracy at {r:,} rec/s, 10 s (null endpoint)",
        f"{t['achieved_rps']:,.0f} rec/s ({err:+.2f}%), lag p99 {lag:.1f} ms{steal(f'p2-{r}')}", f"{r:,} rec/s",
        f"{t['achieved_rps'] / r:.4f}", "+-1%, lag p99 < 5 ms", abs(err) <= 1 and lag < 5)
m10, m60 = rss_mb("p3-10"), rss_mb("p3-60")
row("P3", "peak RSS at 50k rec/s, 60 s run (null endpoint)", f"{m60:.1f} MB",
    f"10 s run {m10:.1f} MB", f"{m60 / m10:.2f}", "<= 100 MB, within 10% of the 10 s run",
    m60 <= 100 and m60 <= m10 * 1.1)
# P4's end-to-end rate: the distinct records of the run the consumer read back
# (accounting.received) per second of the run (the variant's elapsed_s: from the first send
# until the drain saw every acknowledged record read back, or gave up). Records are only counted
# once produced and consumed: a consumer that falls behind stretches the drain and lowers the
# rate, and records never read back do not count. (phases[].achieved_rps is acknowledgements per
# second of sending: the producer alone.)
def e2e(name):
    _, v, t = summary(name)
    a = v["accounting"]
    rate = a["received"] / v["elapsed_s"]
    detail = (f"{rate:,.0f} rec/s ({a['received']:,} of "
              f"{a['acknowledged']:,} read back in {v['elapsed_s']:.1f} s, "
              f"e2e p99 {t['e2e']['p99_ms'] / 1000:.1f} s")
    if a["lost"]:
        detail += f", lost {a['lost']:,}"
    return rate, detail + ")"

emb, emb_detail = e2e("p4-embedded")
d, _, t = summary("p4-embedded")
what = (f"produce + consume end to end, {d['shards']} shards, {t['duration_s']:.0f} s: "
        "embedded (limits off) vs kinesalite")
if p4_skip:
    row("P4", what, f"embedded {emb_detail}", f"kinesalite skipped: {p4_skip}", "-", ">= 5x",
        f"skipped: {p4_skip}")
    row("P4", "the same on kinesis-mock (information)", "-",
        f"kinesis-mock skipped: {p4_skip}", "-", "-", f"skipped: {p4_skip}")
else:
    kl, kl_detail = e2e("p4-kinesalite")
    ratio = emb / kl if kl else float("inf")
    row("P4", what, f"embedded {emb_detail}", f"kinesalite {kl_detail}", f"{ratio:.2f}",
        ">= 5x", ratio >= 5)
    km, km_detail = e2e("p4-kinesis-mock")
    row("P4", f"the same, {summary('p4-kinesis-mock')[2]['duration_s']:.0f} s, on kinesis-mock "
        "(information): embedded vs kinesis-mock",
        f"embedded {emb:,.0f} rec/s", f"kinesis-mock {km_detail}",
        f"{emb / km:.1f}" if km else "-", "-", "information")
# accepted per shard in the steady intervals: the first and last two intervals with
# acknowledgements are left out, as the endpoint's one-second windows do not line up with them
import glob
series = glob.glob(os.path.join(work, "reports", "p5-*", "timeseries.csv"))
if len(series) != 1:
    raise SystemExit(f"expected one P5 report, found {series}")
acked = [r for r in csv.DictReader(open(series[0])) if int(r["acknowledged"]) > 0][2:-2]
if len(acked) < 4:
    raise SystemExit("P5: too few intervals with acknowledgements")
per = sum(int(r["acknowledged"]) for r in acked) / sum(float(r["interval_s"]) for r in acked) / 2
row("P5", f"2 shards offered 2x their limit, {len(acked)} steady intervals (embedded endpoint)",
    f"{per:,.1f} rec/s per shard", "1,000 rec/s per shard", f"{per / 1000:.4f}", "+-3%",
    abs(per / 1000 - 1) <= 0.03)
d, v, t = summary("p6")
wall = wall_s("p6")
drain = v["elapsed_s"] - 5.0
over = wall - v["elapsed_s"]
row("P6", "a 5 s scenario: wall time beyond 5 s + drain (embedded endpoint)",
    f"{over:.2f} s (wall {wall:.2f} s, drain {drain:.2f} s)", "5 s + drain", "-", "< 1 s",
    over < 1.0)

# per consumer of the one run: distinct records read back per second of the run, and e2e p50
_, v7, _ = summary("p7")
def reader(kind):
    c = next(c for c in v7["consumers"] if c["kind"] == kind)
    t = c["phases"][-1]
    rate = c["accounting"]["received"] / v7["elapsed_s"]
    return rate, t["e2e"]["p50_ms"], (f"{rate:,.0f} rec/s ({c['accounting']['received']:,} of "
                                      f"{v7['accounting']['acknowledged']:,}), e2e p50 {t['e2e']['p50_ms']:.1f} ms, "
                                      f"p99 {t['e2e']['p99_ms']:.1f} ms")
efo, efo_p50, efo_detail = reader("efo")
poll, _, poll_detail = reader("polling")
row("P7", "EFO beside a polling consumer, one run, 10,000 rec/s, 10 s, 4 shards, no linger (embedded endpoint, limits off)",
    f"EFO {efo_detail}", f"polling {poll_detail}",
    f"{efo / poll:.2f}" if poll else "-", ">= 1x polling's rate, EFO e2e p50 < 10 ms",
    bool(poll) and efo >= poll and efo_p50 < 10)

header = ["id", "what", "figure", "reference", "ratio", "target", "met"]
with open(out, "w", newline="") as f:
    csv.writer(f).writerows([header] + rows)
widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
for r in [header] + rows:
    print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
print(f"\nwritten: {out}")
PY

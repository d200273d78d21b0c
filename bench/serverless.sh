#!/usr/bin/env bash
# Serverless figures: the stripped release binary's size, process start to
# the first answered request in every runtime mode (socket server, Lambda,
# OpenWhisk ActionLoop, OpenWhisk action proxy), and the idle RSS after it.
# See bench/README.md.
#
# Environment (all optional):
#   STARTS=5         starts per mode (a new SQLite database each); medians reported
#   BACKFEED_BIN=…   use this binary instead of building one
#   CARGO_TARGET_DIR honoured by the release build
set -euo pipefail

STARTS=${STARTS:-5}

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET_START_MS=20
TARGET_SIZE_MB=15
TARGET_RSS_MB=15

install_cleanup_traps
find_backfeed_bin
WORK=$(mktemp -d /tmp/backfeed-bench.XXXXXX)

SIZE=$(stat -c %s "$BIN")
STRIPPED=$WORK/backfeed-stripped
cp "$BIN" "$STRIPPED"
strip "$STRIPPED" 2>/dev/null || say "strip is missing; the size is of the binary as built"
STRIPPED_SIZE=$(stat -c %s "$STRIPPED")

say "measuring start -> first answer in four runtime modes ($STARTS starts each)…"
LOAD_BEFORE=$(load_average)
python3 "$BENCH_DIR/serverless_start.py" --bin "$STRIPPED" --work "$WORK" --runs "$STARTS" \
    >"$WORK/starts.json"

python3 - "$WORK/starts.json" "$SIZE" "$STRIPPED_SIZE" "$TARGET_START_MS" "$TARGET_SIZE_MB" \
    "$TARGET_RSS_MB" "$STARTS" "$(nproc)" "$LOAD_BEFORE" "$("$BIN" --version)" <<'PY'
import json, os, sys
starts, size, stripped, t_start, t_size, t_rss, runs, cores, load, version = sys.argv[1:11]
modes = json.load(open(starts))
mb = lambda n: int(n) / 1_000_000
def verdict(ok):
    return "ok" if ok else "MISSED"
print()
print(f"release binary          {mb(size):6.1f} MB as built, {mb(stripped):.1f} MB stripped "
      f"(target < {t_size} MB: {verdict(mb(stripped) < float(t_size))})")
names = {"server": "socket server (serve)", "lambda": "Lambda (fake Runtime API)",
         "openwhisk-actionloop": "OpenWhisk ActionLoop", "openwhisk-http": "OpenWhisk /init + /run"}
for mode, r in modes.items():
    rss = r["idle_rss_kb"] / 1024
    print(f"{names[mode]:<26} start to first answer {r['median_ms']:6.1f} ms (median of {runs}; target < {t_start} ms: "
          f"{verdict(r['median_ms'] < float(t_start))}); idle RSS {rss:5.1f} MB (target < {t_rss} MB: "
          f"{verdict(rss < float(t_rss))})")
print()
for mode, r in modes.items():
    print(f"starts, {mode:<21} {r['starts_ms']} ms")
print(f"request answered         GET /status, a new SQLite database per start (migrations included)")
from report import cpu_model
cpu = cpu_model()
print(f"machine                  {cores} cores ({cpu}); load average before {load}")
print(f"version                  {version}")
PY

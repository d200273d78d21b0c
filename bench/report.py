"""Lines every benchmark summary prints the same way (imported by the
summaries in the scripts; lib.sh puts bench/ on PYTHONPATH)."""

import re

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, or "?"."""
    with open("/proc/cpuinfo") as cpuinfo:
        return next((l.split(":", 1)[1].strip() for l in cpuinfo if l.startswith("model name")), "?")


def print_backfeed_stderr(path, width):
    """backfeed's stderr (BACKFEED_LOG=warn): its first lines, or that it
    was empty, with the label padded to `width` columns."""
    raw = open(path).read()
    logs = [ANSI.sub("", l) for l in raw.splitlines() if l.strip()]
    label = "backfeed stderr".ljust(width)
    if not logs:
        print(f"{label}empty (BACKFEED_LOG=warn)")
        return
    print(f"{label}{len(logs)} line(s) (BACKFEED_LOG=warn):")
    for line in logs[:5]:
        print(f"{'':{width}}{line[:200]}")
    if ANSI.search(raw):
        print(f"{'':{width}}(the lines carry ANSI colour codes, though stderr is a file)")

"""Counts for bench/shared.sh, which runs several crawl workers on one job.

    python3 bench/shared_tally.py records URLS OUT...
        -> "RECORDS DISTINCT LOST DUPLICATED BROKEN LOSTKIND"
    The records in the workers' outputs against the URL file: LOST = URL lines with no record,
    DUPLICATED = URLs with more than one record, BROKEN = lines that are not a JSON record (a
    worker killed mid-write), LOSTKIND = records whose error.kind is "lost" (dead entries).

    python3 bench/shared_tally.py monitor PAGES < redis-cli-monitor-output
        -> "SENT INSIDE_LUA TOP" per page, TOP the commands the workers sent, most first
    MONITOR logs every command a client sends ("[0 127.0.0.1:PORT]") and every command a Lua
    script runs ("[0 lua]"); a client's commands are its round trips, but for pipelining.
"""
import collections
import json
import re
import sys


def records(urls_path, outs):
    wanted = set(open(urls_path, encoding="utf-8").read().split())
    per_url = collections.Counter()
    broken = lost_kind = 0
    for path in outs:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    record = json.loads(line)
                except ValueError:
                    broken += 1
                    continue
                per_url[record["url"]] += 1
                if (record.get("error") or {}).get("kind") == "lost":
                    lost_kind += 1
    missing = sum(1 for url in wanted if url not in per_url)
    duplicated = sum(1 for n in per_url.values() if n > 1)
    print(sum(per_url.values()), len(per_url), missing, duplicated, broken, lost_kind)


LINE = re.compile(r'^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"')


def monitor(pages):
    sent = collections.Counter()
    inside = 0
    for line in sys.stdin:
        m = LINE.match(line)
        if not m:
            continue
        if m.group(1) == "lua":
            inside += 1
        else:
            sent[m.group(2).lower()] += 1
    top = ", ".join(f"{name} {n / pages:.2f}" for name, n in sent.most_common(8))
    print(f"{sum(sent.values()) / pages:.2f} {inside / pages:.2f} {top or '-'}")


if sys.argv[1] == "records":
    records(sys.argv[2], sys.argv[3:])
else:
    monitor(int(sys.argv[2]))

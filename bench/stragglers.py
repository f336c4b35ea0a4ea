#!/usr/bin/env python3
"""The stragglers' delays added up per level, for bench/w3.sh.

  python3 bench/stragglers.py EVERY SLOW_MS < records.jsonl

Reads crawl's records, finds which pages blogserver.py (../shared/bench) makes slow with
--slow-every EVERY (its rule: the number of list N is N, of post N-K is N*20+K, of any other
all-digit last segment is that number; /static/ never), groups them by the record's `depth`,
and prints "LEVELS STRAGGLERS SECONDS": how many levels hold a straggler, how many stragglers
there are, and SLOW_MS once per such level, in seconds. A crawl that finishes every page of
a level before the next starts waits about that long more than one without stragglers.
"""
import json
import sys
from urllib.parse import urlsplit


def number(path):
    if path.startswith("/static/"):
        return None
    parts = path.rsplit("/", 1)[-1].removesuffix(".html").split("-")
    if not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]) * 20 + int(parts[1]) if len(parts) == 2 else int(parts[0])


def main():
    every, slow_ms = int(sys.argv[1]), float(sys.argv[2])
    levels, stragglers = set(), 0
    for line in sys.stdin:
        record = json.loads(line)
        n = number(urlsplit(record["url"]).path)
        if n is not None and n % every == 0:
            levels.add(record["depth"])
            stragglers += 1
    print(len(levels), stragglers, f"{len(levels) * slow_ms / 1000:.1f}")


if __name__ == "__main__":
    main()

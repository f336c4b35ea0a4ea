#!/usr/bin/env bash
# Bytes per seen URL (issue #14): a depth crawl of at least a million pages, seeded with
# /list/1.html of the 50 000-list-page site (a million posts), whose peak RSS less the base RSS
# is divided by the URLs it saw. The base is the same crawl stopped at --depth 100 (about 8 400
# pages): the binary, its pools and buffers, without the million URLs. The big crawl's --depth is
# past the site's deepest page, so the crawl ends when nothing is left, and every URL it saw has
# a record: the URLs seen are its records.
#   bench/seen.sh                 about 2 min on 2 cores (PAGES=5000 for a quick look)
# The site is `crawl serve --pages 50000 --latency 0ms`, which keeps its first pages rendered
# (about 0.5 GB) and renders the rest on each request. Needs python3 and curl.
. "$(dirname "$0")/common.sh"
pages=${PAGES:-50000} site=serve
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$crawl" serve --port "$port" --latency 0ms --pages "$pages" 2>/dev/null & pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/robots.txt" >/dev/null && break; sleep 0.1; done
seed=http://127.0.0.1:$port/list/1.html

crawl_rss() { # DEPTH -> "PEAK_KB RECORDS DEEPEST SECONDS"
    local t0 t1 counts
    t0=$(date +%s.%N)
    counts=$(/usr/bin/time -f %M -o "$work/rss" "$crawl" -q --depth "$1" <(echo "$seed") |
        python3 -c 'import json, sys
n = deepest = 0
for line in sys.stdin: n += 1; deepest = max(deepest, json.loads(line)["depth"])
print(n, deepest)')
    t1=$(date +%s.%N)
    echo "$(tail -1 "$work/rss") $counts $(python3 -c "print(f'{$t1 - $t0:.1f}')")"
}
read -r base_kb base_n base_deep base_s < <(crawl_rss 100)
big_depth=$((pages))
read -r big_kb big_n big_deep big_s < <(crawl_rss "$big_depth")
if [ "$big_deep" -ge "$big_depth" ]; then
    echo "the crawl reached --depth $big_depth: URLs were seen past it, so the records undercount them" >&2
fi
python3 - "$base_kb" "$base_n" "$big_kb" "$big_n" <<'PY'
import sys
base_kb, base_n, big_kb, big_n = map(int, sys.argv[1:])
print(f"bytes per seen URL: ({big_kb} - {base_kb}) KB / {big_n} URLs = {(big_kb - base_kb) * 1024 / big_n:.1f}"
      f" (over the base's URLs too: {(big_kb - base_kb) * 1024 / (big_n - base_n):.1f})")
PY
cat <<INFO
site: $site, $pages list pages; $(nproc) cores, $(date -u +%Y-%m-%d)
base: --depth 100, $base_n pages, peak RSS $(python3 -c "print(f'{$base_kb / 1024:.1f}')") MB, $base_s s
crawl: --depth $big_depth, $big_n pages (deepest level $big_deep), peak RSS $(python3 -c "print(f'{$big_kb / 1024:.1f}')") MB, $big_s s
INFO

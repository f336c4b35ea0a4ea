#!/usr/bin/env bash
# crawl against the limit of the machine and against its peers, side by side in one run.
#   W1 network-bound: list pages at 50 ms latency, 64 concurrent requests, against wrk -c64 on the
#      same pages (the limit). 1000 pages on both of the issue's servers (`crawl serve` and
#      ../shared/bench/blogserver.py), where the first and last rounds weigh more (the start-up
#      figure), on crawl serve also against Scrapy and the tutorial's seed crawler; 5000 pages of
#      blogserver.py (the steady state, with CPU per page, user+sys, against Scrapy's on the same
#      pages).
#   W2 CPU-bound: 2400 fetches of ../shared/corpus/blog-a served by nginx with no latency,
#      against Scrapy, the seed crawler, and two parse-only limits (cores x one core's parse
#      rate): with a full tree per page, and with crawl's own parse step.
#   Memory: crawl's peak RSS on 10 000, 100 000 and 1 000 000 URL lines (no --depth), the corpus
#      pages from nginx; the million took 126 to 142 s here.
#   W3 whole site: bench/w3.sh (ROUNDS=$W3_ROUNDS, default 5), its table printed after this one.
#   SEEN=1 adds bench/seen.sh (bytes per seen URL on a million-page depth crawl, about 75 s).
#   SHARED=1 adds bench/shared.sh (1, 2 and 4 workers on one job through Redis, then kill -9;
#   ROUNDS=$SHARED_ROUNDS, default 3, about 3 minutes).
# Needs: nginx and wrk (apt-get install nginx-light wrk), python3 with scrapy, requests,
# beautifulsoup4 and aiohttp (pip install ...), spider-rs and wget2 for W3 (see bench/w3.sh), and
# ../shared (the peers and the corpus). Prints a table of ratios; absolute times vary on a noisy
# machine, ratios measured side by side less so. 7 minutes on 2 cores with PAIRS=3 W3_ROUNDS=3,
# about 11 with the defaults (PAIRS=7, W3_ROUNDS=5).
. "$(dirname "$0")/common.sh"
cores=$(nproc)
pairs=${PAIRS:-7}

rate() { python3 -c "import sys; print(f'{$1 / $2:.1f}')"; }
timed() { # command... -> elapsed seconds on stdout, the command's output discarded
    local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    python3 -c "print(f'{$t1 - $t0:.3f}')"
}
best3() { # command... -> the shortest of three timed runs: the least disturbed by the machine
    for _ in 1 2 3; do timed "$@"; done | sort -n | head -1
}
median() { python3 -c "import statistics, sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.1f}')" "$@"; }
ratios() { # ratio... -> "median (lowest to highest)"
    python3 -c "import statistics, sys; xs = sorted(float(x) for x in sys.argv[1:]); print(f'{statistics.median(xs):.2f}x ({xs[0]:.2f}x to {xs[-1]:.2f}x)')" "$@"
}

# W1 on one server, in $pairs rounds of wrk for 3 s, then crawl once in each mode, then crawl's
# fetch step alone (`crawl bench-fetch`: 64 threads on crawl's HTTP client, nothing parsed or
# written), so that each ratio compares runs seconds apart: the machine's load drifts more than
# that over a minute. Sets w1_wrk, w1_multi, w1_async, w1_fetch (medians, pages/s) and
# w1_multi_r, w1_async_r, w1_fetch_r (median ratio to the wrk run of the same round, and their
# spread).
w1_pairs() { # URL-file LUA-script BASE-URL
    local wrk_all=() multi_all=() async_all=() fetch_all=() multi_r=() async_r=() fetch_r=() w m a f
    for _ in $(seq "$pairs"); do
        w=$(wrk -t2 -c64 -d3s -s "$2" "$3" | awk '/Requests\/sec/ {print $2}')
        m=$(rate 1000 "$(timed "$crawl" -q --no-robots --crawlers 64 --select a.post-item-title "$1")")
        a=$(rate 1000 "$(timed "$crawl" -q --no-robots --mode async --crawlers 64 --select a.post-item-title "$1")")
        f=$(rate 1000 "$(timed "$crawl" bench-fetch --crawlers 64 "$1")")
        wrk_all+=("$w"); multi_all+=("$m"); async_all+=("$a"); fetch_all+=("$f")
        multi_r+=("$(python3 -c "print($m / $w)")"); async_r+=("$(python3 -c "print($a / $w)")")
        fetch_r+=("$(python3 -c "print($f / $w)")")
    done
    w1_wrk=$(median "${wrk_all[@]}"); w1_multi=$(median "${multi_all[@]}"); w1_async=$(median "${async_all[@]}")
    w1_fetch=$(median "${fetch_all[@]}")
    w1_multi_r=$(ratios "${multi_r[@]}"); w1_async_r=$(ratios "${async_r[@]}"); w1_fetch_r=$(ratios "${fetch_r[@]}")
}

# ---- W1 -------------------------------------------------------------------------------------
"$crawl" serve --port 8941 --latency 50ms --pages 1000 2>/dev/null & pids+=($!)
wait_up http://127.0.0.1:8941/robots.txt
curl -s http://127.0.0.1:8941/urls.txt > "$work/w1.txt"
# Warm the server's page cache so every client sees pages already rendered.
"$crawl" -q --crawlers 64 --no-robots "$work/w1.txt" >/dev/null
cat > "$work/cycle.lua" <<'LUA'
local n = 0
request = function() n = n % 1000 + 1; return wrk.format("GET", "/list/" .. n .. ".html") end
LUA
w1_pairs "$work/w1.txt" "$work/cycle.lua" http://127.0.0.1:8941/
wrk_rps=$w1_wrk; w1_crawl_ps=$w1_multi; w1_async_ps=$w1_async; w1_ratio=$w1_multi_r; w1_async_ratio=$w1_async_r
w1_fetch_ps=$w1_fetch; w1_fetch_ratio=$w1_fetch_r
w1_scrapy=$(timed python3 "$shared/peers/scrapy_crawler.py" "$work/w1.txt" "$work/scrapy1.jsonl" 64 a.post-item-title)
w1_seed=$(timed python3 "$shared/peers/seed_crawler.py" --mode multi --crawlers 64 --parsers "$cores" --select a.post-item-title "$work/w1.txt")
w1_scrapy_ps=$(rate 1000 "$w1_scrapy"); w1_seed_ps=$(rate 1000 "$w1_seed")

# ---- W1 on ../shared/bench/blogserver.py ---------------------------------------------------
python3 "$shared/bench/blogserver.py" --port 8946 --latency-ms 50 >/dev/null 2>&1 & pids+=($!)
wait_up http://127.0.0.1:8946/stats
python3 "$shared/bench/blogserver.py" --write-urls 1000 8946 > "$work/w1b.txt"
sed 's|^http://127.0.0.1:8946||' "$work/w1b.txt" > "$work/w1b-paths.txt"
"$crawl" -q --crawlers 64 --no-robots "$work/w1b.txt" >/dev/null # its pages render on first request
cat > "$work/paths.lua" <<LUA
local paths = {}
for line in io.lines("$work/w1b-paths.txt") do paths[#paths + 1] = line end
local n = 0
request = function() n = n % #paths + 1; return wrk.format("GET", paths[n]) end
LUA
w1_pairs "$work/w1b.txt" "$work/paths.lua" http://127.0.0.1:8946/
wrk_b_rps=$w1_wrk; w1b_crawl_ps=$w1_multi; w1b_async_ps=$w1_async; w1b_ratio=$w1_multi_r; w1b_async_ratio=$w1_async_r
w1b_fetch_ps=$w1_fetch; w1b_fetch_ratio=$w1_fetch_r

# ---- W1 on 5000 pages: the steady state, and CPU per page ---------------------------------
# On blogserver.py, the issue's other W1 server.
python3 "$shared/bench/blogserver.py" --write-urls 5000 8946 > "$work/w5.txt"
"$crawl" -q --crawlers 64 --no-robots "$work/w5.txt" >/dev/null # render every page once
cat > "$work/cycle5.lua" <<'LUA'
local n = 0
request = function() n = n % 5000 + 1; return wrk.format("GET", "/list/" .. n .. ".html") end
LUA
cpu_ms() { python3 -c "print(f'{($2 + $3) * 1000 / $1:.3f}')"; } # pages user-s sys-s -> CPU ms per page
w5_wrk=() w5_ps=() w5_r=() w5_cpu=()
for _ in $(seq "$pairs"); do
    w=$(wrk -t2 -c64 -d3s -s "$work/cycle5.lua" http://127.0.0.1:8946/ | awk '/Requests\/sec/ {print $2}')
    /usr/bin/time -o "$work/time" -f "%e %U %S" "$crawl" -q --no-robots --crawlers 64 --select a.post-item-title "$work/w5.txt" >/dev/null
    read -r e u sy < "$work/time"
    m=$(rate 5000 "$e")
    w5_wrk+=("$w"); w5_ps+=("$m"); w5_r+=("$(python3 -c "print($m / $w)")"); w5_cpu+=("$(cpu_ms 5000 "$u" "$sy")")
done
w5_wrk_rps=$(median "${w5_wrk[@]}"); w5_crawl_ps=$(median "${w5_ps[@]}"); w5_ratio=$(ratios "${w5_r[@]}")
w5_cpu_ms=$(python3 -c "import statistics, sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.3f}')" "${w5_cpu[@]}")
/usr/bin/time -o "$work/time" -f "%e %U %S" python3 "$shared/peers/scrapy_crawler.py" "$work/w5.txt" "$work/scrapy5.jsonl" 64 a.post-item-title >/dev/null 2>&1
read -r e u sy < "$work/time"
w5_scrapy_ps=$(rate 5000 "$e"); w5_scrapy_cpu=$(cpu_ms 5000 "$u" "$sy")

# ---- W2 -------------------------------------------------------------------------------------
serve_corpus "$shared/corpus/blog-a" 8942
(cd "$shared/corpus/blog-a" && find . -name index.html | sed 's|^\./||; s|index.html$||') > "$work/paths.txt"
for r in $(seq 10); do sed "s|^|http://127.0.0.1:8942/|; s|\$|?r=$r|" "$work/paths.txt"; done > "$work/w2.txt"
w2_n=$(wc -l < "$work/w2.txt")
"$crawl" -q --no-robots "$work/w2.txt" >/dev/null # warm nginx and the page cache
w2_crawl=$(best3 "$crawl" -q --no-robots "$work/w2.txt")
w2_scrapy=$(timed python3 "$shared/peers/scrapy_crawler.py" "$work/w2.txt" "$work/scrapy2.jsonl" 8 "a[href]")
w2_seed=$(timed python3 "$shared/peers/seed_crawler.py" --mode multi --crawlers 8 --parsers "$cores" "$work/w2.txt")
parse_rate() { # bench-parse flags -> the best of three one-core parse rates on the corpus
    for _ in 1 2 3; do "$crawl" bench-parse "$@" $(find "$shared/corpus/blog-a" -name '*.html') | sed -n 's/.*: \([0-9.]*\) pages\/s.*/\1/p'; done | sort -n | tail -1
}
# Two parse-only limits: one full tree per page (html5ever + scraper, what crawl did before the
# streaming pass), and the parse step crawl runs now.
tree_core=$(parse_rate --rounds 5 --tree); stream_core=$(parse_rate --rounds 20)
tree_limit=$(python3 -c "print(f'{$tree_core * $cores:.1f}')")
limit=$(python3 -c "print(f'{$stream_core * $cores:.1f}')")
w2_crawl_ps=$(rate "$w2_n" "$w2_crawl"); w2_scrapy_ps=$(rate "$w2_n" "$w2_scrapy"); w2_seed_ps=$(rate "$w2_n" "$w2_seed")

# ---- Memory ---------------------------------------------------------------------------------
# URL lines with no link following, the corpus pages from W2's nginx (a query makes each line a
# URL of its own), crawl's default pools. Sets rss_N (MB) and rss_N_s (seconds).
rss() { # URL count
    python3 -c "import sys
paths = open(sys.argv[2], 'rb').read().split()
out = sys.stdout.buffer
for i in range(int(sys.argv[1])): out.write(b'http://127.0.0.1:8942/%s?m=%d\n' % (paths[i % len(paths)], i))" "$1" "$work/paths.txt" > "$work/m.txt"
    local t0 t1; t0=$(date +%s.%N)
    /usr/bin/time -o "$work/rss" -f %M "$crawl" -q --no-robots "$work/m.txt" >/dev/null
    t1=$(date +%s.%N)
    printf -v "rss_$1" '%s' "$(awk '{printf "%.1f", $1 / 1024}' "$work/rss")"
    printf -v "rss_$1_s" '%s' "$(python3 -c "print(f'{$t1 - $t0:.0f}')")"
}
rss 10000; rss 100000; rss 1000000
rm -f "$work/m.txt"

ratio() { python3 -c "print(f'{$1 / $2:.2f}x')"; }
cat <<TABLE
machine: $cores cores; $(date -u +%Y-%m-%d)
W1: medians of $pairs rounds, each of wrk for 3 s then one crawl run per mode; crawl / limit is the
median of each round's ratio, with the lowest and highest. W2: crawl's best of three.

| workload | crawl pages/s | limit | crawl / limit | Scrapy pages/s | crawl / Scrapy | seed pages/s | crawl / seed |
| --- | --- | --- | --- | --- | --- | --- | --- |
| W1: 5000 list pages on blogserver.py, 50 ms latency, 64 concurrent | $w5_crawl_ps | wrk -c64: $w5_wrk_rps | $w5_ratio | $w5_scrapy_ps | $(ratio "$w5_crawl_ps" "$w5_scrapy_ps") | | |
| W1 start-up: 1000 list pages, same load | $w1_crawl_ps | wrk -c64: $wrk_rps | $w1_ratio | $w1_scrapy_ps | $(ratio "$w1_crawl_ps" "$w1_scrapy_ps") | $w1_seed_ps | $(ratio "$w1_crawl_ps" "$w1_seed_ps") |
| W1, --mode async | $w1_async_ps | wrk -c64: $wrk_rps | $w1_async_ratio | $w1_scrapy_ps | $(ratio "$w1_async_ps" "$w1_scrapy_ps") | $w1_seed_ps | $(ratio "$w1_async_ps" "$w1_seed_ps") |
| W1, fetch step alone (bench-fetch) | $w1_fetch_ps | wrk -c64: $wrk_rps | $w1_fetch_ratio | | | | |
| W1 on blogserver.py (aiohttp), same load | $w1b_crawl_ps | wrk -c64: $wrk_b_rps | $w1b_ratio | | | | |
| W1 on blogserver.py, --mode async | $w1b_async_ps | wrk -c64: $wrk_b_rps | $w1b_async_ratio | | | | |
| W1 on blogserver.py, fetch step alone | $w1b_fetch_ps | wrk -c64: $wrk_b_rps | $w1b_fetch_ratio | | | | |
| W2: $w2_n fetches of blog-a, nginx, no latency | $w2_crawl_ps | parse-only, one tree per page: $cores x $tree_core = $tree_limit | $(ratio "$w2_crawl_ps" "$tree_limit") | $w2_scrapy_ps | $(ratio "$w2_crawl_ps" "$w2_scrapy_ps") | $w2_seed_ps | $(ratio "$w2_crawl_ps" "$w2_seed_ps") |
| W2, against crawl's own parse step | $w2_crawl_ps | parse-only, streaming: $cores x $stream_core = $limit | $(ratio "$w2_crawl_ps" "$limit") | | | | |

W1 on 5000 pages, CPU per page (user+sys over pages): crawl $w5_cpu_ms ms (median of the rounds), Scrapy $w5_scrapy_cpu ms: Scrapy / crawl $(ratio "$w5_scrapy_cpu" "$w5_cpu_ms")

| URL lines (no --depth, blog-a pages from nginx) | peak RSS | against 10 000 | time |
| --- | --- | --- | --- |
| 10 000 | $rss_10000 MB | 1.00x | $rss_10000_s s |
| 100 000 | $rss_100000 MB | $(ratio "$rss_100000" "$rss_10000") | $rss_100000_s s |
| 1 000 000 | $rss_1000000 MB | $(ratio "$rss_1000000" "$rss_10000") | $rss_1000000_s s |

TABLE
# W3 and bytes per seen URL start their own servers and stop them; ports are picked free.
ROUNDS=${W3_ROUNDS:-5} bench/w3.sh
if [ "${SEEN:-}" = 1 ]; then echo; bench/seen.sh; fi
if [ "${SHARED:-}" = 1 ]; then echo; ROUNDS=${SHARED_ROUNDS:-3} bench/shared.sh; fi

#!/usr/bin/env bash
# W3 of issue #14: a whole site from its root. ../shared/bench/blogserver.py at 50 ms latency,
# seeded with /list/1.html, --depth 10, 64 connections, every link on the host followed (crawl's
# default: --select a[href], the seed's host only, robots.txt obeyed), beside Scrapy
# (../shared/peers/scrapy_site.py, breadth-first, DEPTH_LIMIT 10), spider-rs (`spider`, bounded
# with --limit = crawl's request count, since its -d counts path segments) and GNU Wget2
# (-r -l 10 --max-threads 64). Then W3 with stragglers: a second blogserver.py with
# --slow-every 50 --slow-ms 2000.
#   bench/w3.sh                      3 rounds: about 2 minutes on 2 cores with today's crawl, whose
#                                    stragglers' runs take 18 s each
#   ROUNDS=7 CRAWL=/path/to/crawl W3_FLAGS=--no-robots PEERS="scrapy spider" bench/w3.sh
# PEERS picks the peers (default "scrapy spider wget2"; PEERS= runs crawl alone).
# Besides the issue's round bound, ceil(requests / 64) rounds, it gives the dependency floor
# (bench/w3_floor.py over crawl's own records): the fewest rounds any crawler that obeys
# robots.txt needs for these pages, since a page can be asked for only once a page linking to it
# has answered, so the first rounds carry 1, 1 and a few dozen requests.
# Each round runs, back to back: wrk -c64 for 2 s over the pages crawl visits (the latency
# round is 64 / its rate), crawl, Scrapy, spider-rs, Wget2, then crawl on the stragglers'
# server. Ratios are medians of the rounds' own ratios, with the lowest and highest. Requests
# are counted by the server (GET /stats before and after). A peer that is not installed is
# left out. Per-round figures go to stderr.
# Needs wrk, python3 with aiohttp (and scrapy for that peer), curl, and ../shared.
. "$(dirname "$0")/common.sh"
rounds=${ROUNDS:-3}
peers=" ${PEERS-scrapy spider wget2} "
flags=(-q --depth 10 --crawlers 64 ${W3_FLAGS:-})
spider=$(command -v spider || echo "$HOME/.cargo/bin/spider")
[ -x "$spider" ] && [[ $peers == *" spider "* ]] || spider=
wget2=$(command -v wget2 || true)
[[ $peers == *" wget2 "* ]] || wget2=
python3 -c 'import scrapy' 2>/dev/null && [[ $peers == *" scrapy "* ]] && scrapy=1 || scrapy=

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
served() { curl -sf "$1/stats" | python3 -c 'import json, sys; print(json.load(sys.stdin)["served"])'; }
py() { python3 -c "import math, statistics, sys; a = [float(x) for x in sys.argv[1:]]; print($1)" "${@:2}"; }
spread() { py 'f"{statistics.median(a):.2f}x ({min(a):.2f}x to {max(a):.2f}x)"' "$@"; }
med() { py "f'{statistics.median(a):.$1f}'" "${@:2}"; }
start_server() { # PORT, blogserver flags... -> waits until it answers
    python3 "$shared/bench/blogserver.py" --port "$1" --latency-ms 50 "${@:2}" >/dev/null 2>&1 & pids+=($!)
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$1/stats" >/dev/null && return; sleep 0.1; done
    echo "blogserver.py on port $1 did not start" >&2; exit 1
}
# run NAME BASE command... : runs the command, sets t_NAME (wall seconds) and n_NAME (requests
# the server at BASE answered for it); the command's stdout goes to $work/NAME.out.
run() {
    local name=$1 base=$2 before after t0 t1; shift 2
    before=$(served "$base"); t0=$(date +%s.%N)
    "$@" >"$work/$name.out" 2>"$work/$name.err" || true
    t1=$(date +%s.%N); after=$(served "$base")
    printf -v "t_$name" '%s' "$(py 'f"{a[1] - a[0]:.3f}"' "$t0" "$t1")"
    printf -v "n_$name" '%s' "$((after - before - 1))" # less the /stats request itself
}

plain_port=$(free_port); start_server "$plain_port"
slow_port=$(free_port); start_server "$slow_port" --slow-every 50 --slow-ms 2000
plain=http://127.0.0.1:$plain_port slow=http://127.0.0.1:$slow_port

# One warm-up crawl per server renders every page once (blogserver.py caches them), and gives
# the pages for wrk and the request count for spider-rs's --limit.
run warm "$plain" "$crawl" "${flags[@]}" <(echo "$plain/list/1.html")
limit=$n_warm
python3 -c 'import json, sys
for line in sys.stdin: print(json.loads(line)["url"].split("/", 3)[3])' < "$work/warm.out" > "$work/paths.txt"
sed "s|^|$slow/|" "$work/paths.txt" | xargs -P 64 -n 1 curl -s -o /dev/null
cat > "$work/paths.lua" <<LUA
local paths = {}
for line in io.lines("$work/paths.txt") do paths[#paths + 1] = "/" .. line end
local n = 0
request = function() n = n % #paths + 1; return wrk.format("GET", paths[n]) end
LUA

tools=(crawl); [ -n "$scrapy" ] && tools+=(scrapy scrapywall); [ -n "$spider" ] && tools+=(spider); [ -n "$wget2" ] && tools+=(wget2)
declare -A times reqs speedup
frac=() frac_floor=() lat=() added=() slow_t=()
for r in $(seq "$rounds"); do
    rps=$(wrk -t2 -c64 -d2s -s "$work/paths.lua" "$plain/" | awk '/Requests\/sec/ {print $2}')
    round=$(py 'f"{64 / a[0]:.5f}"' "$rps"); lat+=("$round")
    run crawl "$plain" "$crawl" "${flags[@]}" <(echo "$plain/list/1.html")
    line="round $r: latency round $(py 'f"{a[0] * 1000:.1f}"' "$round") ms; crawl $t_crawl s $n_crawl req"
    if [ -n "$scrapy" ]; then
        run scrapy "$plain" python3 "$shared/peers/scrapy_site.py" "$plain/list/1.html" "$work/scrapy.jsonl" 64 10
        # Scrapy's own timer: from its crawl's start, without Python's start-up.
        own=$(sed -n 's/^scrapy: .* in \([0-9.]*\)s$/\1/p' "$work/scrapy.err")
        t_scrapywall=$t_scrapy n_scrapywall=$n_scrapy
        [ -n "$own" ] && t_scrapy=$own
        line+="; Scrapy $t_scrapy s $n_scrapy req"
    fi
    if [ -n "$spider" ]; then
        run spider "$plain" "$spider" -u "$plain/list/1.html" --limit "$limit" crawl -o
        line+="; spider-rs $t_spider s $n_spider req"
    fi
    if [ -n "$wget2" ]; then
        # Wget2 1.99.1 sends "Host: 127.0.0.1" without the port, so blogserver.py's absolute
        # post links would point at port 80; the header gives it the port a browser would send.
        rm -rf "$work/wget2"
        run wget2 "$plain" "$wget2" -q -r -l 10 --max-threads 64 --delete-after -P "$work/wget2" \
            --header "Host: 127.0.0.1:$plain_port" "$plain/list/1.html"
        line+="; Wget2 $t_wget2 s $n_wget2 req"
    fi
    for t in "${tools[@]}"; do
        tt=t_$t nn=n_$t
        times[$t]+=" ${!tt}"; reqs[$t]+=" ${!nn}"
        speedup[$t]+=" $(py 'f"{a[1] / a[0]}"' "$t_crawl" "${!tt}")"
    done
    frac+=("$(py 'f"{math.ceil(a[0] / 64) * a[1] / a[2]}"' "$n_crawl" "$round" "$t_crawl")")
    floor=$(python3 bench/w3_floor.py 64 < "$work/crawl.out")
    frac_floor+=("$(py 'f"{a[0] * a[1] / a[2]}"' "$floor" "$round" "$t_crawl")")
    run slowcrawl "$slow" "$crawl" "${flags[@]}" <(echo "$slow/list/1.html")
    slow_t+=("$t_slowcrawl"); added+=("$(py 'f"{a[1] - a[0]:.3f}"' "$t_crawl" "$t_slowcrawl")")
    echo "$line; with stragglers crawl $t_slowcrawl s $n_slowcrawl req" >&2
done

read -r s_levels s_count s_sum < <(python3 bench/stragglers.py 50 2000 < "$work/slowcrawl.out")
name() { case $1 in
    crawl) echo "crawl (\`--depth 10 --crawlers 64${W3_FLAGS:+ $W3_FLAGS}\`)" ;;
    scrapy) echo "Scrapy (\`scrapy_site.py\`, DEPTH_LIMIT 10; its own timer)" ;;
    scrapywall) echo "Scrapy, the same runs by the wall clock (Python's start-up included)" ;;
    spider) echo "spider-rs (\`spider --limit $limit\`)" ;;
    wget2) echo "GNU Wget2 (\`-r -l 10 --max-threads 64\`)" ;;
esac; }
n_med=$(med 0 ${reqs[crawl]}); round_ms=$(py 'f"{statistics.median(a) * 1000:.1f}"' "${lat[@]}")
cat <<TABLE
W3: a whole site from /list/1.html, blogserver.py at 50 ms, depth 10, 64 connections; $(nproc) cores, $(date -u +%Y-%m-%d)
medians of $rounds rounds; peer time / crawl time is the median of each round's ratio (lowest to highest)

| tool | time | requests | req/s | peer time / crawl time |
| --- | --- | --- | --- | --- |
TABLE
for t in "${tools[@]}"; do
    tm=$(med 3 ${times[$t]}); n=$(med 0 ${reqs[$t]})
    sp=""; [ "$t" != crawl ] && sp=$(spread ${speedup[$t]})
    echo "| $(name "$t") | $tm s | $n | $(py 'f"{a[0] / a[1]:.0f}"' "$n" "$tm") | $sp |"
done
cat <<TABLE

round bound: ceil($n_med / 64) x $round_ms ms (64 / wrk -c64's rate on the same pages) = $(py 'f"{math.ceil(a[0] / 64) * a[1] / 1000:.3f}"' "$n_med" "$round_ms") s; crawl reaches $(spread "${frac[@]}") of it
dependency floor: $floor rounds (bench/w3_floor.py: robots.txt, then each page once the page that led to it has answered, 64 at a time) x $round_ms ms = $(py 'f"{a[0] * a[1] / 1000:.3f}"' "$floor" "$round_ms") s; crawl reaches $(spread "${frac_floor[@]}") of it
W3 with stragglers (--slow-every 50 --slow-ms 2000): crawl $(med 3 "${slow_t[@]}") s, $(med 3 "${added[@]}") s more than the plain run of its round ($(py 'f"{min(a):.3f} to {max(a):.3f}"' "${added[@]}") s)
stragglers' delays added up per level: $s_count stragglers on $s_levels levels (by crawl's records' depth) x 2 s = $s_sum s; added time / that = $(py 'f"{statistics.median(a[1:]) / a[0]:.2f}"' "$s_sum" "${added[@]}")
TABLE

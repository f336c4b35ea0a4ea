#!/usr/bin/env bash
# --warc, checked by a real reader and measured:
# 1. Serves ../shared/corpus/blog-a with nginx on 127.0.0.1:8962, crawls it whole from / with
#    --warc out.warc.gz, then runs Python's warcio (pip install warcio): `warcio check` must
#    verify every digest, and `warcio index` must list a response for every page crawl recorded
#    with a status (the URL asked for: a redirect's first hop answers for it).
# 2. The cost on W2 (bench/run.sh: 2400 fetches of blog-a from nginx, no latency): ROUNDS paired
#    rounds (default 5) of the same crawl without --warc, with --warc to a .warc.gz and with
#    --warc to a plain .warc; each round's rate with over rate without, and the median of those.
# 3. The cost on W1's shape (bench/run.sh: 1000 list pages of `crawl serve` at 50 ms, 64
#    crawlers), where a crawl waits on the network: the same paired rounds.
# CHECK_ONLY=1 skips parts 2 and 3. Needs nginx (apt-get install nginx-light), jq, python3 and ../shared.
. "$(dirname "$0")/common.sh"
rounds=${ROUNDS:-5}
port=8962
serve_corpus "$shared/corpus/blog-a" "$port"
wait_up "http://127.0.0.1:$port/"
python3 -c 'import warcio' 2>/dev/null || pip install -q warcio
status=0

# ---- 1. warcio check and index ---------------------------------------------------------------
echo "http://127.0.0.1:$port/" | "$crawl" -q --depth 1000 - -o "$work/site.jsonl" --warc "$work/site.warc.gz"
pages=$(jq -r 'select(.status != null) | .url' "$work/site.jsonl" | sort -u)
if warcio check "$work/site.warc.gz"; then
    echo "warcio check: pass (every digest verifies)"
else
    echo "warcio check: FAIL"; status=1
fi
warcio index -f warc-type,warc-target-uri "$work/site.warc.gz" > "$work/index.jsonl"
jq -r 'select(."warc-type" == "response") | ."warc-target-uri"' "$work/index.jsonl" | sort -u > "$work/responses.txt"
missing=$(comm -23 <(echo "$pages") "$work/responses.txt" | wc -l)
n_pages=$(echo "$pages" | wc -l)
if [ "$missing" -eq 0 ]; then
    echo "warcio index: pass ($n_pages pages recorded, each indexed as a response; $(wc -l < "$work/index.jsonl") records)"
else
    echo "warcio index: FAIL ($missing of $n_pages recorded pages have no response record)"
    comm -23 <(echo "$pages") "$work/responses.txt" | head
    status=1
fi
[ "${CHECK_ONLY:-0}" = 1 ] && exit "$status"

# ---- 2. the cost on W2 -------------------------------------------------------------------------
(cd "$shared/corpus/blog-a" && find . -name index.html | sed 's|^\./||; s|index.html$||') > "$work/paths.txt"
for r in $(seq 10); do sed "s|^|http://127.0.0.1:$port/|; s|\$|?r=$r|" "$work/paths.txt"; done > "$work/w2.txt"
n=$(wc -l < "$work/w2.txt")
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); python3 -c "print($t1 - $t0)"; }
"$crawl" -q --no-robots "$work/w2.txt" >/dev/null # warm nginx and the page cache
gz=(); plain=()
for _ in $(seq "$rounds"); do
    rm -f "$work/w2.warc.gz" "$work/w2.warc"
    t0=$(timed "$crawl" -q --no-robots "$work/w2.txt")
    tg=$(timed "$crawl" -q --no-robots "$work/w2.txt" --warc "$work/w2.warc.gz")
    tp=$(timed "$crawl" -q --no-robots "$work/w2.txt" --warc "$work/w2.warc")
    gz+=("$(python3 -c "print($t0 / $tg)")"); plain+=("$(python3 -c "print($t0 / $tp)")")
    echo "round: W2 $(python3 -c "print(f'{$n / $t0:.0f}')") pages/s without --warc, $(python3 -c "print(f'{$n / $tg:.0f}')") with .warc.gz ($(du -m "$work/w2.warc.gz" | cut -f1) MB), $(python3 -c "print(f'{$n / $tp:.0f}')") with .warc ($(du -m "$work/w2.warc" | cut -f1) MB)"
done
med() { python3 -c "import statistics, sys; xs = sorted(float(x) for x in sys.argv[1:]); print(f'{statistics.median(xs):.3f}x ({xs[0]:.3f}x to {xs[-1]:.3f}x)')" "$@"; }
within() { python3 -c "import statistics, sys; sys.exit(0 if statistics.median(float(x) for x in sys.argv[1:]) >= 0.85 else 1)" "$@"; }
for kind in gz plain; do
    declare -n ratios=$kind
    label=$([ "$kind" = gz ] && echo "--warc FILE.warc.gz" || echo "--warc FILE.warc")
    if within "${ratios[@]}"; then verdict=pass; else verdict=FAIL; status=1; fi
    echo "W2 ($n fetches), rate with $label over without, median of $rounds rounds: $(med "${ratios[@]}"): $verdict (target: within 15%)"
done

"$crawl" serve --port 8963 --latency 50ms --pages 1000 2>/dev/null & pids+=($!)
wait_up http://127.0.0.1:8963/urls.txt
curl -s http://127.0.0.1:8963/urls.txt > "$work/w1.txt"
w1=("$crawl" -q --no-robots --crawlers 64 --select a.post-item-title "$work/w1.txt")
"${w1[@]}" >/dev/null
w1_gz=(); w1_plain=()
for _ in $(seq "$rounds"); do
    rm -f "$work/w1.warc.gz" "$work/w1.warc"
    t0=$(timed "${w1[@]}")
    tg=$(timed "${w1[@]}" --warc "$work/w1.warc.gz")
    tp=$(timed "${w1[@]}" --warc "$work/w1.warc")
    w1_gz+=("$(python3 -c "print($t0 / $tg)")"); w1_plain+=("$(python3 -c "print($t0 / $tp)")")
    echo "round: W1 $(python3 -c "print(f'{1000 / $t0:.0f}')") pages/s without --warc, $(python3 -c "print(f'{1000 / $tg:.0f}')") with .warc.gz, $(python3 -c "print(f'{1000 / $tp:.0f}')") with .warc"
done
for kind in w1_gz w1_plain; do
    declare -n ratios=$kind
    label=$([ "$kind" = w1_gz ] && echo "--warc FILE.warc.gz" || echo "--warc FILE.warc")
    echo "W1 (1000 pages at 50 ms), rate with $label over without, median of $rounds rounds: $(med "${ratios[@]}")"
done
exit "$status"

#!/usr/bin/env bash
# How --crawlers, --parsers, --queue and keep-alive move throughput, to choose the defaults from
# figures.
#   W2: 2400 fetches of ../shared/corpus/blog-a from nginx (CPU-bound: parsing and HTTP).
#   W1: 1000 list pages of `crawl serve --latency 50ms` (network-bound).
# Each cell is the best of three runs, in pages/s. Needs nginx and ../shared (see bench/run.sh).
. "$(dirname "$0")/common.sh"

best() { # URL file, crawl flags... -> best pages/s of three runs
    local file=$1; shift
    local n; n=$(wc -l < "$file")
    for _ in 1 2 3; do
        local t0 t1; t0=$(date +%s.%N); "$crawl" -q --no-robots "$@" "$file" >/dev/null; t1=$(date +%s.%N)
        python3 -c "print(f'{$n / ($t1 - $t0):.0f}')"
    done | sort -n | tail -1
}

serve_corpus "$shared/corpus/blog-a" 8944
(cd "$shared/corpus/blog-a" && find . -name index.html | sed 's|^\./||; s|index.html$||') > "$work/paths.txt"
for r in $(seq 10); do sed "s|^|http://127.0.0.1:8944/|; s|\$|?r=$r|" "$work/paths.txt"; done > "$work/w2.txt"
"$crawl" -q --no-robots "$work/w2.txt" >/dev/null
echo "W2 ($(nproc) cores): pages/s by crawlers (rows) and parsers (columns), queue 4 x parsers"
printf '%10s' crawlers; for p in 1 2 4; do printf '%10s' "p=$p"; done; echo
for c in 2 4 8 16 32; do
    printf '%10s' "$c"
    for p in 1 2 4; do printf '%10s' "$(best "$work/w2.txt" --crawlers "$c" --parsers "$p")"; done
    echo
done
echo "W2: pages/s by --queue, 8 crawlers, $(nproc) parsers"
for q in 1 2 8 32 128; do printf '%10s %s\n' "q=$q" "$(best "$work/w2.txt" --queue "$q")"; done
echo "W2: mean pages/s of 8 runs each, 8 crawlers, parsers taking turns (best-of-three cells are noisy)"
for i in $(seq 8); do
    for p in 2 3 4; do
        t0=$(date +%s.%N); "$crawl" -q --no-robots --parsers "$p" "$work/w2.txt" >/dev/null; t1=$(date +%s.%N)
        echo "$p $(python3 -c "print($(wc -l < "$work/w2.txt") / ($t1 - $t0))")"
    done
done | awk '{s[$1] += $2; n[$1]++} END {for (p in s) printf "%10s %.0f\n", "p=" p, s[p] / n[p]}' | sort
echo "W2: pages/s with connections kept alive (the default) and with a new one per request"
printf '%14s %s\n' keep-alive "$(best "$work/w2.txt")" no-keep-alive "$(best "$work/w2.txt" --no-keep-alive)"

"$crawl" serve --port 8945 --latency 50ms --pages 1000 2>/dev/null & pids+=($!)
sleep 0.5
curl -s http://127.0.0.1:8945/urls.txt > "$work/w1.txt"
"$crawl" -q --no-robots --crawlers 64 "$work/w1.txt" >/dev/null
echo "W1: pages/s by crawlers, $(nproc) parsers"
for c in 8 16 32 64 128; do printf '%10s %s\n' "c=$c" "$(best "$work/w1.txt" --crawlers "$c" --select a.post-item-title)"; done
echo "W1: pages/s with connections kept alive (the default) and with a new one per request, 64 crawlers"
printf '%14s %s\n' keep-alive "$(best "$work/w1.txt" --crawlers 64 --select a.post-item-title)" \
    no-keep-alive "$(best "$work/w1.txt" --crawlers 64 --select a.post-item-title --no-keep-alive)"

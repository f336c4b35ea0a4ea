#!/usr/bin/env bash
# W2 (2400 fetches of ../shared/corpus/blog-a from nginx, no latency) and the one-core parse
# step, for two builds side by side: rounds alternate OLD and NEW, and each ratio is the median
# of the rounds' NEW/OLD ratios, so that a change is judged against the machine's noise.
#   bench/w2-pair.sh OLD-BINARY [NEW-BINARY] [ROUNDS]   (NEW defaults to this tree's release build)
# Needs nginx and ../shared.
. "$(dirname "$0")/common.sh"
old=$1; new=${2:-$crawl}; rounds=${3:-7}
serve_corpus "$shared/corpus/blog-a" 8952
(cd "$shared/corpus/blog-a" && find . -name index.html | sed 's|^\./||; s|index.html$||') > "$work/paths.txt"
for r in $(seq 10); do sed "s|^|http://127.0.0.1:8952/|; s|\$|?r=$r|" "$work/paths.txt"; done > "$work/w2.txt"
n=$(wc -l < "$work/w2.txt")
pages=$(find "$shared/corpus/blog-a" -name '*.html')
timed() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); python3 -c "print($t1 - $t0)"; }
parse() { "$1" bench-parse --rounds 10 $pages | sed -n 's/.*: \([0-9.]*\) pages\/s.*/\1/p'; }
"$old" -q --no-robots "$work/w2.txt" >/dev/null; "$new" -q --no-robots "$work/w2.txt" >/dev/null
w2=(); bp=()
for _ in $(seq "$rounds"); do
    to=$(timed "$old" -q --no-robots "$work/w2.txt"); tn=$(timed "$new" -q --no-robots "$work/w2.txt")
    w2+=("$(python3 -c "print($to / $tn)")")
    po=$(parse "$old"); pn=$(parse "$new")
    bp+=("$(python3 -c "print($pn / $po)")")
    echo "round: W2 old $(python3 -c "print(f'{$n / $to:.0f}')") new $(python3 -c "print(f'{$n / $tn:.0f}')") pages/s; parse old $po new $pn pages/s" >&2
done
med() { python3 -c "import statistics, sys; xs = sorted(float(x) for x in sys.argv[1:]); print(f'{statistics.median(xs):.3f}x ({xs[0]:.3f}x to {xs[-1]:.3f}x)')" "$@"; }
echo "W2 ($n fetches), new pages/s over old: $(med "${w2[@]}")"
echo "parse step, one core, new over old: $(med "${bp[@]}")"

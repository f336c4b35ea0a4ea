#!/usr/bin/env bash
# Whole-site check on a real blog: serves ../shared/corpus/blog-a with nginx at the root of
# 127.0.0.1:8902, crawls it from / with a large --depth in both modes, and compares the set of
# URLs with a plain breadth-first walk of its a[href] links (bench/bfs.py). Needs nginx
# (apt-get install nginx-light) and the shared corpus, so it is not part of cargo test.
. "$(dirname "$0")/common.sh"
corpus=$shared/corpus/blog-a
serve_corpus "$corpus" 8902
python3 bench/bfs.py http://127.0.0.1:8902/ > "$work/bfs.txt"
for mode in single multi; do
    echo http://127.0.0.1:8902/ | "$crawl" --mode "$mode" --depth 1000 - -o "$work/$mode.jsonl"
    jq -r .url "$work/$mode.jsonl" | sort > "$work/$mode.txt"
    if diff -q "$work/bfs.txt" "$work/$mode.txt" >/dev/null; then
        echo "$mode: same $(wc -l < "$work/$mode.txt") URLs as the breadth-first walk, each once"
    else
        echo "$mode: differs from the breadth-first walk:"; diff "$work/bfs.txt" "$work/$mode.txt" | head
    fi
done

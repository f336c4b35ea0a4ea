#!/usr/bin/env bash
# Whole-site check on a real blog: serves ../shared/corpus/blog-a with nginx at the root of
# 127.0.0.1:8902, crawls it from / with a large --depth in both modes, and compares the set of
# URLs with a plain breadth-first walk of its a[href] links (bench/bfs.py). Needs nginx
# (apt-get install nginx-light) and the shared corpus, so it is not part of cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=$(cd ../shared/corpus/blog-a && pwd)
work=$(mktemp -d)
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path $work/body;
    server { listen 127.0.0.1:8902; root $corpus; index index.html; }
}
CONF
nginx -c "$work/nginx.conf"
trap 'nginx -c "$work/nginx.conf" -s stop' EXIT
cargo build --release --quiet
python3 bench/bfs.py http://127.0.0.1:8902/ > "$work/bfs.txt"
for mode in single multi; do
    echo http://127.0.0.1:8902/ | target/release/crawl --mode "$mode" --depth 1000 - -o "$work/$mode.jsonl"
    jq -r .url "$work/$mode.jsonl" | sort > "$work/$mode.txt"
    if diff -q "$work/bfs.txt" "$work/$mode.txt" >/dev/null; then
        echo "$mode: same $(wc -l < "$work/$mode.txt") URLs as the breadth-first walk, each once"
    else
        echo "$mode: differs from the breadth-first walk:"; diff "$work/bfs.txt" "$work/$mode.txt" | head
    fi
done

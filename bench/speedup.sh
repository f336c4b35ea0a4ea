#!/usr/bin/env bash
# Single against multi on the embedded blog: same URLs, same server, side by side in one run.
# Usage: bench/speedup.sh [PAGES] [LATENCY] [CRAWLERS]    (defaults: 200 50ms 8)
# Needs only this repo: the server is `crawl serve`, so the figure is reproducible anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
pages=${1:-200} latency=${2:-50ms} crawlers=${3:-8}

cargo build --release --quiet
crawl=target/release/crawl
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$crawl" serve --port "$port" --latency "$latency" --pages "$pages" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
urls=$(mktemp)
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/urls.txt" -o "$urls" && break
    sleep 0.1
done
[ -s "$urls" ] || { echo "server did not start" >&2; exit 1; }

run() { # mode -> elapsed seconds, from crawl's own summary
    "$crawl" --mode "$1" --crawlers "$crawlers" --select a.post-item-title "$urls" 2>&1 >/dev/null |
        sed -n 's/.* in \([0-9.]*\) s .*/\1/p'
}
run multi >/dev/null # warm the server's page cache so both modes see the same server
single=$(run single)
multi=$(run multi)
echo "pages=$pages latency=$latency crawlers=$crawlers cores=$(nproc)"
echo "single: ${single} s"
echo "multi:  ${multi} s"
python3 -c "print(f'speedup: {$single / $multi:.1f}x')"

# Sourced by the bench scripts: strict mode, the repository as working directory, a release
# build ($crawl; CRAWL=PATH runs that binary instead, to hold two builds to the same script),
# ../shared ($shared), a scratch directory ($work, removed on exit), background servers ($pids)
# stopped on exit, and serve_corpus ROOT PORT, which serves ROOT with nginx (two workers, no
# access log) on 127.0.0.1:PORT, and wait_up URL.
set -euo pipefail
given=${CRAWL:+$(realpath "$CRAWL")}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shared=$(cd ../shared && pwd)
work=$(mktemp -d)
if [ -n "$given" ]; then
    crawl=$given
else
    cargo build --release --quiet
    crawl=$PWD/target/release/crawl
fi
pids=()

serve_corpus() {
    cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path $work/body;
    server { listen 127.0.0.1:$2; root $1; index index.html; }
}
CONF
    nginx -c "$work/nginx.conf"
}

wait_up() { # URL: until it answers, for a server just started in the background (5 s at most)
    for _ in $(seq 50); do curl -s -o /dev/null "$1" && return; sleep 0.1; done
    echo "no answer from $1" >&2; return 1
}

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -f "$work/nginx.pid" ]; then nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

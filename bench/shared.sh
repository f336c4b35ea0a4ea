#!/usr/bin/env bash
# One crawl shared by 1, 2 and 4 worker processes through Redis (issue #15), on this machine:
# ../shared/bench/blogserver.py at 50 ms latency, PAGES list-page URL lines (default 4000, no
# --depth), every worker `--crawlers 16` with its own -o, a fresh --job per run, and a
# redis-server this script starts on a free loopback port (--save '', a temp dir).
#   bench/shared.sh                 ROUNDS=3: about 3 minutes on 2 cores
#   ROUNDS=1 PAGES=2000 CRAWL=/path/to/crawl SHARED_FLAGS=--no-robots bench/shared.sh
# Each round runs back to back: wrk -c16 and wrk -c64 for 2 s on the same pages (the server's
# own limit at one and four workers' connections), one plain crawl without --redis, then 1, 2 and
# 4 workers. Per configuration: pages/s (records over the wall time from the first worker's start
# to the last one's exit), Redis commands per page (INFO stats total_commands_processed over the
# run: commands the workers sent plus those their Lua scripts ran), the workers' CPU per page
# (user+sys summed, bench/shared_cpu.py) and redis-server's (/proc/PID/task/*/schedstat); medians of
# the rounds; ratios are medians of each round's own ratio (lowest to highest).
# Then one 4-worker run under MONITOR, not timed: the commands the workers sent per page (their
# round trips, but that a pipeline counts each of its commands) apart from those run inside Lua.
# Then a kill -9 run: 3 workers with --lease 2s, one killed with SIGKILL once a quarter of the
# records are out; across all outputs, URL lines with no record (lost) and URLs with more than
# one (duplicated), against the entries the killed worker had pending.
# Needs redis-server and redis-cli (apt-get install redis-server), wrk, python3 with aiohttp, curl.
. "$(dirname "$0")/common.sh"
rounds=${ROUNDS:-3}
pages=${PAGES:-4000}
flags=(-q --crawlers 16 --select a.post-item-title ${SHARED_FLAGS:-})

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
py() { python3 -c "import math, statistics, sys; a = [float(x) for x in sys.argv[1:]]; print($1)" "${@:2}"; }
spread() { py 'f"{statistics.median(a):.2f}x ({min(a):.2f}x to {max(a):.2f}x)"' "$@"; }
med() { py "f'{statistics.median(a):.$1f}'" "${@:2}"; }

# ---- the site and Redis --------------------------------------------------------------------
site_port=$(free_port)
python3 "$shared/bench/blogserver.py" --port "$site_port" --latency-ms 50 >/dev/null 2>&1 & pids+=($!)
wait_up "http://127.0.0.1:$site_port/stats"
python3 "$shared/bench/blogserver.py" --write-urls "$pages" "$site_port" > "$work/urls.txt"
sed "s|^http://127.0.0.1:$site_port||" "$work/urls.txt" > "$work/paths.txt"
cat > "$work/paths.lua" <<LUA
local paths = {}
for line in io.lines("$work/paths.txt") do paths[#paths + 1] = line end
local n = 0
request = function() n = n % #paths + 1; return wrk.format("GET", paths[n]) end
LUA
"$crawl" -q --crawlers 64 "$work/urls.txt" >/dev/null # its pages render on first request

rport=$(free_port)
mkdir "$work/redis"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work/redis" \
    >"$work/redis.log" 2>&1 & rpid=$!; pids+=("$rpid")
rcli() { redis-cli -p "$rport" "$@" | tr -d '\r'; }
for _ in $(seq 50); do [ "$(rcli ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
[ "$(rcli ping)" = PONG ] || { echo "redis-server did not start:" >&2; cat "$work/redis.log" >&2; exit 1; }
redis=redis://127.0.0.1:$rport/0
commands() { rcli info stats | sed -n 's/^total_commands_processed:\([0-9]*\)$/\1/p'; }
redis_ns() { cat /proc/"$rpid"/task/*/schedstat | awk '{ns += $1} END {print ns}'; } # its CPU time, all threads
jobs=0

# tally OUT... -> sets t_records t_distinct t_lost t_dup t_broken t_lostkind against the URL file
tally() {
    read -r t_records t_distinct t_lost t_dup t_broken t_lostkind < \
        <(python3 bench/shared_tally.py records "$work/urls.txt" "$@")
}

# shared WORKERS -> sets r_pages, r_ps (pages/s), r_cmd (Redis commands per page), r_cpu and r_rcpu
# (ms of CPU per page, the workers' and redis-server's); warns unless every URL line has exactly
# one record and every worker exited 0.
shared() {
    local n=$1 job i c0 c1 k0 k1 t0 t1 cpu=0 u s e bad=() wpids=()
    job=bench-$$-$((++jobs))
    rcli flushall >/dev/null
    rm -f "$work"/out.*
    c0=$(commands); k0=$(redis_ns); t0=$(date +%s.%N)
    for i in $(seq "$n"); do
        python3 bench/shared_cpu.py "$work/time.$i" "$crawl" "${flags[@]}" --redis "$redis" \
            --job "$job" -o "$work/out.$i" "$work/urls.txt" 2>"$work/err.$i" & wpids+=($!)
    done
    for i in $(seq "$n"); do wait "${wpids[i-1]}" || bad+=("$i"); done
    t1=$(date +%s.%N); k1=$(redis_ns); c1=$(commands)
    for i in $(seq "$n"); do
        read -r e u s < "$work/time.$i"; cpu=$(py 'f"{a[0] + a[1] + a[2]}"' "$cpu" "$u" "$s")
    done
    tally "$work"/out.*
    r_pages=$t_records
    r_ps=$(py 'f"{a[0] / (a[2] - a[1]):.1f}"' "$r_pages" "$t0" "$t1")
    r_cmd=$(py 'f"{(a[1] - a[0] - 1) / a[2]:.2f}"' "$c0" "$c1" "$r_pages") # less the first INFO
    r_cpu=$(py 'f"{a[0] * 1000 / a[1]:.4f}"' "$cpu" "$r_pages")
    r_rcpu=$(py 'f"{(a[1] - a[0]) / 1e6 / a[2]:.4f}"' "$k0" "$k1" "$r_pages")
    for i in "${bad[@]}"; do echo "worker $i of $n failed: $(tail -3 "$work/err.$i")" >&2; done
    if [ "$t_records" != "$pages" ] || [ "$t_distinct" != "$pages" ] || [ "$t_broken" != 0 ]; then
        echo "$n workers: $t_records records, $t_distinct URLs, $t_lost lost, $t_dup duplicated, $t_broken broken lines (of $pages URL lines)" >&2
    fi
}

declare -A ps cmd cpu rcpu over overr
ratio4=() ratio2=() limit=() plain_cpu=() plain_ps=() wrk16=() wrk64=()
for r in $(seq "$rounds"); do
    w16=$(wrk -t2 -c16 -d2s -s "$work/paths.lua" "http://127.0.0.1:$site_port/" | awk '/Requests\/sec/ {print $2}')
    w64=$(wrk -t2 -c64 -d2s -s "$work/paths.lua" "http://127.0.0.1:$site_port/" | awk '/Requests\/sec/ {print $2}')
    wrk16+=("$w16"); wrk64+=("$w64"); limit+=("$(py 'a[1] / a[0]' "$w16" "$w64")")
    python3 bench/shared_cpu.py "$work/time.plain" "$crawl" "${flags[@]}" "$work/urls.txt" > "$work/plain.out"
    read -r e u s < "$work/time.plain"
    tally "$work/plain.out"
    [ "$t_distinct" = "$pages" ] || echo "plain run: $t_distinct URLs of $pages have a record" >&2
    plain_ps+=("$(py 'f"{a[0] / a[1]:.1f}"' "$t_records" "$e")")
    plain_cpu+=("$(py 'f"{(a[1] + a[2]) * 1000 / a[0]:.4f}"' "$t_records" "$u" "$s")")
    line="round $r: wrk -c16 $w16/s, -c64 $w64/s; plain ${plain_ps[-1]}/s"
    for n in 1 2 4; do
        shared "$n"
        ps[$n]+=" $r_ps"; cmd[$n]+=" $r_cmd"; cpu[$n]+=" $r_cpu"; rcpu[$n]+=" $r_rcpu"
        printf -v "ps_$n" '%s' "$r_ps"
        # this round's Redis overhead: the workers' CPU per page over the plain run's, without
        # and with redis-server's, as shares of the plain run's
        over[$n]+=" $(py '(a[1] - a[0]) / a[0] * 100' "${plain_cpu[-1]}" "$r_cpu")"
        overr[$n]+=" $(py '(a[1] + a[2] - a[0]) / a[0] * 100' "${plain_cpu[-1]}" "$r_cpu" "$r_rcpu")"
        line+="; ${n}w $r_ps/s"
    done
    ratio2+=("$(py 'a[1] / a[0]' "$ps_1" "$ps_2")"); ratio4+=("$(py 'a[1] / a[0]' "$ps_1" "$ps_4")")
    echo "$line" >&2
done

# ---- round trips: one 4-worker run under MONITOR, not timed --------------------------------
rcli flushall >/dev/null
rm -f "$work"/out.*
redis-cli -p "$rport" monitor > "$work/monitor" & mon=$!
sleep 0.2
wpids=()
for i in 1 2 3 4; do
    "$crawl" "${flags[@]}" --redis "$redis" --job "bench-$$-monitor" -o "$work/out.$i" "$work/urls.txt" 2>/dev/null & wpids+=($!)
done
for p in "${wpids[@]}"; do wait "$p" || true; done
sleep 0.2; kill "$mon"; wait "$mon" 2>/dev/null || true
tally "$work"/out.*
read -r m_sent m_lua m_top < <(python3 bench/shared_tally.py monitor "$t_records" < "$work/monitor")
rm -f "$work/monitor"

# ---- kill -9 ---------------------------------------------------------------------------------
rcli flushall >/dev/null
rm -f "$work"/out.*
kjob=bench-$$-kill
wpids=()
k0=$(date +%s.%N)
for i in 1 2 3; do
    "$crawl" "${flags[@]}" --redis "$redis" --job "$kjob" --lease 2s -o "$work/out.$i" "$work/urls.txt" 2>"$work/err.$i" & wpids+=($!)
done
victim=${wpids[1]}
for _ in $(seq 600); do
    [ "$(cat "$work"/out.* 2>/dev/null | wc -l)" -ge $((pages / 4)) ] && break
    sleep 0.05
done
{ kill -9 "$victim"; wait "$victim"; } 2>/dev/null || true # no "Killed" line from the shell
k_at=$(cat "$work"/out.* | wc -l)
# The killed worker's consumer (HOSTNAME:PID) in each level's group: the entries it had
# delivered and not acked, the most that can be recorded twice.
in_flight=0
for stream in $(rcli --scan --pattern "$kjob:level:*"); do
    n=$(redis-cli -p "$rport" --json xinfo consumers "$stream" crawl |
        python3 -c 'import json, sys; print(sum(c["pending"] for c in json.load(sys.stdin) if c["name"].endswith(":" + sys.argv[1])))' "$victim")
    in_flight=$((in_flight + n))
done
codes=()
for i in 1 3; do
    if wait "${wpids[i-1]}"; then codes+=(0); else codes+=($?); fi
done
k_own=$(wc -l < "$work/out.2")
k1=$(date +%s.%N)
tally "$work"/out.*
status=$("$crawl" --redis "$redis" --job "$kjob" --status 2>&1 | python3 -c 'import json, sys
s = json.load(sys.stdin)
print(", ".join(f"{k} {s[k]}" for k in ("complete", "queued", "in_flight", "done", "failed", "skipped", "dead") if k in s))' 2>/dev/null || echo "(no --status)")

cat <<TABLE
Shared crawl: blogserver.py at 50 ms, $pages list-page URL lines, redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on loopback; $(nproc) cores, $(date -u +%Y-%m-%d)
each worker: crawl ${flags[*]} --redis $redis --job NAME -o FILE URLS
plain: crawl ${flags[*]} URLS > FILE
medians of $rounds rounds; ratios are medians of each round's own ratio (lowest to highest)

| run | pages/s | Redis commands / page | workers' CPU / page | redis-server CPU / page |
| --- | --- | --- | --- | --- |
| plain, no --redis | $(med 1 "${plain_ps[@]}") | | $(med 4 "${plain_cpu[@]}") ms | |
TABLE
for n in 1 2 4; do
    echo "| $n worker$([ "$n" = 1 ] || echo s) | $(med 1 ${ps[$n]}) | $(med 2 ${cmd[$n]}) | $(med 4 ${cpu[$n]}) ms | $(med 4 ${rcpu[$n]}) ms |"
done
pc=$(med 4 "${plain_cpu[@]}")
overhead() { # WORKERS -> the median of the rounds' overheads, without and with redis-server's CPU
    py 'f"{statistics.median(a[:len(a) // 2]):.1f}% ({statistics.median(a[len(a) // 2:]):.1f}% with redis-server\x27s)"' ${over[$1]} ${overr[$1]}
}
cat <<TABLE

4 workers / 1 worker: $(spread "${ratio4[@]}") (target 3.5x); 2 / 1: $(spread "${ratio2[@]}")
the server's own limit, wrk -c64 / wrk -c16 on the same pages: $(spread "${limit[@]}") ($(med 1 "${wrk64[@]}") / $(med 1 "${wrk16[@]}") pages/s)
Redis overhead per page, the workers' CPU per page over the plain run's of the same round, as a share of it (the plain run's median: $pc ms):
  1 worker $(overhead 1); 2 workers $(overhead 2); 4 workers $(overhead 4) (target under 10%)
Redis commands are INFO stats total_commands_processed over a run, Lua's own commands included.
round trips (one 4-worker run under MONITOR): the workers sent $m_sent commands per page ($m_top), a pipeline's commands counted one by one; their Lua scripts ran $m_lua more

kill -9: 3 workers with --lease 2s, worker 2 killed once the outputs had $k_at records ($k_own its own), with $in_flight entries pending; the others exited ${codes[0]} and ${codes[1]}, the crawl took $(py 'f"{a[1] - a[0]:.1f}"' "$k0" "$k1") s
across the outputs: $t_records records, lost $t_lost, duplicated $t_dup (at most $in_flight), broken lines $t_broken, records of kind lost $t_lostkind
--status after: $status
TABLE

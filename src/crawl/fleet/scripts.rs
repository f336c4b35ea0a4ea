//! The Lua that makes each step of a shared crawl one atomic step on the Redis server, so that
//! workers racing on the same URL, level or host agree without a lock of their own.
//!
//! The seen set maps a URL's print to `depth * 4 + flags`: 1 where a redirect of that depth
//! landed (a sitemap entry of its level may still claim it), 2 where some claim came from a
//! private page, so the guard no longer applies. Every script can be run twice with the same
//! arguments to the same end, since a call that timed out may have been carried out.

use std::sync::LazyLock;

use redis::Script;

/// Claims URLs for a level and queues the jobs of those that are new there. ARGV: prefix,
/// depth, kind (`line`, `link` or `entry`), budget (-1 for none), then per URL its print and
/// its stream entry: `1` if unguarded (else `0`), the print again, and the job's JSON (none, to
/// claim without queueing). One field keeps each entry as few values as it can be, for the
/// server that stores it and the worker that reads it back. Returns a code per URL: 0 seen
/// already, 1 new, 2 taken from a deeper level, 3 new but over the budget.
pub static QUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p, d, kind, budget = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local seen, counts = p .. ':seen', p .. ':counts'
local stream = p .. ':level:' .. d
local out, queued = {}, 0
for i = 5, #ARGV, 2 do
  -- The entry is one field: `1` if unguarded, else `0`, then the print and the job's JSON.
  local print, entry = ARGV[i], ARGV[i + 1]
  local unguarded = string.byte(entry, 1) == 49
  local mark = d * 4 + (unguarded and 2 or 0)
  local code = 0
  -- Most URLs are new, or seen at a level no deeper: one command decides those.
  if redis.call('HSETNX', seen, print, mark) == 1 then
    code = 1
  else
    local was = tonumber(redis.call('HGET', seen, print))
    local at = math.floor(was / 4)
    if at > d or (at == d and kind == 'entry' and was % 2 == 1) then
      code = at > d and 2 or 1
      redis.call('HSET', seen, print, mark)
    elseif at == d and unguarded and math.floor(was / 2) % 2 == 0 then
      redis.call('HSET', seen, print, was + 2)
    end
  end
  -- Every queued job holds one admission; one a shallower claim takes gives it back when it
  -- is taken from its stream.
  if code > 0 and budget >= 0 and redis.call('INCR', p .. ':admitted') > budget then
    redis.call('DECR', p .. ':admitted')
    code = 3
  end
  if (code == 1 or code == 2) and #entry > 33 then
    redis.call('XADD', stream, '*', 'j', entry)
    queued = queued + 1
  end
  out[#out + 1] = code
end
if queued > 0 and redis.call('HINCRBY', counts, 'q:' .. d, queued) == queued then
  redis.pcall('XGROUP', 'CREATE', stream, 'crawl', '0', 'MKSTREAM')
  if d > tonumber(redis.call('HGET', counts, 'top') or '-1') then
    redis.call('HSET', counts, 'top', d)
  end
end
return out
",
    )
});

/// Finds the open level, the shallowest with jobs not yet acked (only level 0 while URL lines
/// may still come), for the worker to read up to COUNT new jobs of with XREADGROUP itself (a
/// reply read into Lua costs the server more than the rest of a page's Redis work together);
/// with a lease, hands it those of other workers idle longer than it (at least 16 of them,
/// whatever the count). A job taken over that a shallower claim took since it was queued is
/// acked here, with no record.
///
/// A job taken over from a dead worker counts as handed out again, unless it had been handed
/// out twice already: then it was in flight through two crashes, and may be what crashes
/// workers, so it is only taken over (XAUTOCLAIM JUSTID, its count unchanged) as a suspect, for
/// this worker to hand out alone (DELIVER), where it crashes nothing else. One handed out
/// MAX times already is taken over to end as `lost`.
///
/// ARGV: prefix, consumer, count, lease in ms (0: no takeover), MAX. Returns `{state, level,
/// id, job, unguarded, deliveries, suspect, ...}`: state is 1 once every level is done and the
/// URL lines are all in, 2 while no worker has queued all its URL lines yet.
pub static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p, me, n, lease = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local max = tonumber(ARGV[5])
local counts, seen = p .. ':counts', p .. ':seen'
local seeded = redis.call('EXISTS', p .. ':seeded') == 1
local top = tonumber(redis.call('HGET', counts, 'top') or '-1')
local open = -1
for d = 0, top do
  local q = tonumber(redis.call('HGET', counts, 'q:' .. d) or '0')
  local a = tonumber(redis.call('HGET', counts, 'a:' .. d) or '0')
  if q > a then
    open = d
    break
  end
end
if not seeded and open ~= 0 then
  return {2, -1}
end
if open < 0 then
  return {1, -1}
end
local stream = p .. ':level:' .. open
local out = {0, open}
local function hand(id, fields, deliveries, suspect)
  local entry = fields[2]
  local print, job = string.sub(entry, 2, 33), string.sub(entry, 34)
  -- No claim is shallower than level 0, nor can an unguarded job lose a guard: the seen set
  -- has nothing to add to a URL line.
  local was = 2
  if open > 0 or string.byte(entry, 1) ~= 49 then
    was = tonumber(redis.call('HGET', seen, print) or '-1')
  end
  if was >= 0 and math.floor(was / 4) < open then
    if redis.call('XACK', stream, 'crawl', id) == 1 then
      redis.call('XDEL', stream, id)
      redis.call('HINCRBY', counts, 'a:' .. open, 1)
      redis.call('HINCRBY', counts, 's:' .. open, 1)
      if redis.call('EXISTS', p .. ':admitted') == 1 then
        redis.call('DECR', p .. ':admitted')
      end
    end
    return
  end
  local at = #out
  out[at + 1], out[at + 2], out[at + 3] = id, job, math.floor(was / 2) % 2
  out[at + 4], out[at + 5] = deliveries, suspect
end
if lease > 0 then
  local over = redis.call('XAUTOCLAIM', stream, 'crawl', me, lease, '0-0', 'COUNT', math.max(n, 16), 'JUSTID')
  for _, id in ipairs(over[2]) do
    local pending = redis.call('XPENDING', stream, 'crawl', id, id, 1)
    local e = redis.call('XRANGE', stream, id, id)
    local handed = pending[1] and pending[1][4] or 1
    if e[1] then
      if handed >= 2 and handed < max then
        hand(id, e[1][2], handed, 1)
      else
        redis.call('XCLAIM', stream, 'crawl', me, 0, id)
        hand(id, e[1][2], handed + 1, 0)
      end
    end
  end
end
return out
",
    )
});

/// Hands out a suspect this worker took over: counts the delivery. ARGV: prefix, consumer,
/// level, id. Returns 1 if it is still pending (no other worker finished it meanwhile).
pub static DELIVER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local stream = ARGV[1] .. ':level:' .. ARGV[3]
local got = redis.call('XCLAIM', stream, 'crawl', ARGV[2], 0, ARGV[4])
return (got[1] and got[1][2]) and 1 or 0
",
    )
});

/// Acks jobs whose records are flushed, or that make none, and trims what is done from the
/// streams. ARGV: prefix, then per job its
/// level, id and outcome: `r` a record, `f` a record with an error, `s` no record, `g` no
/// record as a shallower claim took its URL (its admission goes back to the budget), `x` lost
/// (the job is copied to PREFIX:dead). An entry acked already (another worker reclaimed it and
/// finished first) counts once. Returns how many were acked here.
pub static ACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = ARGV[1]
local counts = p .. ':counts'
local n, tally, streams, groups = 0, {}, {}, {}
local function count(d, outcome, by)
  for _, field in ipairs({outcome .. ':' .. d, 'a:' .. d}) do
    tally[field] = (tally[field] or 0) + by
  end
  n = n + by
end
for i = 2, #ARGV, 3 do
  local d, id, outcome = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local stream = streams[d]
  if not stream then
    stream = p .. ':level:' .. d
    streams[d] = stream
  end
  if outcome == 'x' then
    if redis.call('XACK', stream, 'crawl', id) == 1 then
      local e = redis.call('XRANGE', stream, id, id)
      if e[1] then
        redis.call('XADD', p .. ':dead', '*', 'level', d, 'id', id, unpack(e[1][2]))
      end
      count(d, outcome, 1)
    end
  else
    -- Jobs of one level and outcome are acked together: XACK counts those it acked.
    local key = d .. ' ' .. outcome
    local group = groups[key]
    if not group then
      group = {d = d, outcome = outcome, ids = {}}
      groups[key] = group
    end
    group.ids[#group.ids + 1] = id
  end
end
for _, group in pairs(groups) do
  local ids = group.ids
  for from = 1, #ids, 1000 do
    local acked = redis.call('XACK', streams[group.d], 'crawl', unpack(ids, from, math.min(from + 999, #ids)))
    if group.outcome == 'g' then
      -- Taken by a shallower claim: no record, and its admission goes back to the budget.
      count(group.d, 's', acked)
      if acked > 0 and redis.call('EXISTS', p .. ':admitted') == 1 then
        redis.call('DECRBY', p .. ':admitted', acked)
      end
    else
      count(group.d, group.outcome, acked)
    end
  end
end
for field, by in pairs(tally) do
  if by > 0 then
    redis.call('HINCRBY', counts, field, by)
  end
end
-- What every consumer has been handed and has acked goes: entries up to the oldest pending
-- one, or past the last handed out. One trim per level costs less than a delete per job.
for _, stream in pairs(streams) do
  local pending = redis.call('XPENDING', stream, 'crawl')
  local keep = pending[2]
  if not keep then
    for _, group in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
      for k = 1, #group, 2 do
        if group[k] == 'last-delivered-id' then
          local ms, seq = string.match(group[k + 1], '^(%d+)-(%d+)$')
          keep = ms .. '-' .. (tonumber(seq) + 1)
        end
      end
    end
  end
  if keep then
    redis.call('XTRIM', stream, 'MINID', keep)
  end
end
return n
",
    )
});

/// Keeps this worker's jobs its own: resets their idle time, so that only a dead worker's jobs
/// outlast the lease. ARGV: prefix, consumer, then per job its level and id.
pub static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p, me = ARGV[1], ARGV[2]
for i = 3, #ARGV, 2 do
  local stream, id = p .. ':level:' .. ARGV[i], ARGV[i + 1]
  -- Only while it is still this worker's: one that stalled past the lease does not take back
  -- a job another worker has taken over.
  local pending = redis.call('XPENDING', stream, 'crawl', id, id, 1)
  if pending[1] and pending[1][2] == me then
    redis.call('XCLAIM', stream, 'crawl', me, 0, id, 'JUSTID')
  end
end
return 0
",
    )
});

/// A page of depth D was redirected to a URL: it is seen at D, and a job of a deeper level for
/// it is taken. ARGV: prefix, depth, print.
pub static LAND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local seen, d = ARGV[1] .. ':seen', tonumber(ARGV[2])
local was = tonumber(redis.call('HGET', seen, ARGV[3]) or '-1')
if was < 0 or math.floor(was / 4) > d then
  redis.call('HSET', seen, ARGV[3], d * 4 + 1)
end
return 0
",
    )
});

/// A host's turn, on Redis's clock, for every worker together. KEYS: the host's key. ARGV: the
/// gap in ms, `try` or `book`, and for `book` the earliest start as ms from now. `try` takes
/// the turn if it has come (0) or says how many ms until it does; `book` takes the first turn
/// at or after the earliest start and says how many ms from now it is.
pub static PACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local gap = tonumber(ARGV[1])
local start = now
if ARGV[2] == 'try' then
  if nxt > now then
    return nxt - now
  end
else
  start = math.max(nxt, now + tonumber(ARGV[3]))
end
redis.call('SET', KEYS[1], start + gap, 'PX', start + gap - now + 60000)
return start - now
",
    )
});

/// Takes one page from the budget; 1 if there was one. ARGV: prefix, budget.
pub static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('INCR', ARGV[1] .. ':admitted') > tonumber(ARGV[2]) then
  redis.call('DECR', ARGV[1] .. ':admitted')
  return 0
end
return 1
",
    )
});

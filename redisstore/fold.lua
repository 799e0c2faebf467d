-- fold.lua: fold one event into a guest's features exactly once and ack
-- its message, atomically. The Lua twin of guest.State.Apply.
-- KEYS[1] features hash, KEYS[2] dedupe key, KEYS[3] stream
-- ARGV: group, message id, dedupe TTL ms, expiry ms, event time ms,
--   session id, recent cap, then counted lists:
--   n affinity ops (field, half-life ms), n counters (name, delta),
--   n cart ops (item, delta), n recent items.
-- Returns 1 when folded, 0 for a duplicate.
local f = KEYS[1]
local t = tonumber(ARGV[5])
local tstr = ARGV[5]
local CLEAR = -1099511627776

local function ack()
  if ARGV[2] ~= '' then
    redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
    redis.call('XDEL', KEYS[3], ARGV[2])
  end
end

if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then
  ack()
  return 0
end

local i = 8
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local field, hl = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  local cur = redis.call('HGET', f, field)
  local s, last = 1, t
  if cur then
    local c = string.find(cur, ':', 1, true)
    local s0, l0 = tonumber(string.sub(cur, 1, c - 1)), tonumber(string.sub(cur, c + 1))
    if t >= l0 then
      s = s0 * 2 ^ (-(t - l0) / hl) + 1
    else
      s = s0 + 2 ^ (-(l0 - t) / hl)
      last = l0
    end
  end
  redis.call('HSET', f, field, string.format('%.17g', s) .. ':' .. string.format('%d', last))
end

-- Session: a new session id newer than the current session resets the
-- counters; a late event of an earlier session counts nowhere.
local sid = ARGV[6]
local counts = false
if sid ~= '' then
  local cur = redis.call('HGET', f, 'sid')
  local sl = tonumber(redis.call('HGET', f, 'slast') or '0')
  if cur == sid then
    counts = true
    if t > sl then redis.call('HSET', f, 'slast', tstr) end
  elseif t >= sl then
    counts = true
    for _, k in ipairs(redis.call('HKEYS', f)) do
      if string.sub(k, 1, 2) == 's|' then redis.call('HDEL', f, k) end
    end
    redis.call('HSET', f, 'sid', sid, 'slast', tstr)
  end
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  if counts then redis.call('HINCRBY', f, 's|' .. ARGV[i], ARGV[i + 1]) end
  i = i + 2
end

n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local field, d = 'c|' .. ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  local q = tonumber(redis.call('HGET', f, field) or '0') + d
  if q > 0 and d ~= CLEAR then
    redis.call('HSET', f, field, string.format('%d', q))
  else
    redis.call('HDEL', f, field)
  end
end

n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local cap = tonumber(ARGV[7])
  local list = {}
  local r = redis.call('HGET', f, 'r')
  if r then
    for e in string.gmatch(r, '[^;]+') do
      local a = string.find(e, '@', 1, true)
      list[#list + 1] = { string.sub(e, 1, a - 1), tonumber(string.sub(e, a + 1)) }
    end
  end
  for _ = 1, n do
    local item = ARGV[i]; i = i + 1
    local skip = false
    for idx, e in ipairs(list) do
      if e[1] == item then
        if e[2] >= t then skip = true else table.remove(list, idx) end
        break
      end
    end
    if not skip then
      local pos = #list + 1
      for idx, e in ipairs(list) do
        if e[2] < t then pos = idx; break end
      end
      table.insert(list, pos, { item, t })
      while #list > cap do table.remove(list) end
    end
  end
  local parts = {}
  for _, e in ipairs(list) do parts[#parts + 1] = e[1] .. '@' .. string.format('%d', e[2]) end
  redis.call('HSET', f, 'r', table.concat(parts, ';'))
end

redis.call('HINCRBY', f, 'n', 1)
local u = tonumber(redis.call('HGET', f, 'u') or '0')
if t > u then redis.call('HSET', f, 'u', tstr) end
redis.call('PEXPIRE', f, ARGV[4])
ack()
return 1

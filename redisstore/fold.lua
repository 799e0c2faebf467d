-- fold.lua: fold one event into a guest's features exactly once and ack
-- its message, atomically. The Lua twin of guest.State.Apply.
-- KEYS[1] features hash, KEYS[2] dedupe key, KEYS[3] stream
-- ARGV: group, message id, dedupe TTL ms, expiry ms, event time ms,
--   session id, recent cap, then counted lists:
--   n affinity ops (field, half-life ms), n counters (name, delta),
--   n cart ops (item, delta), n recent items.
-- Returns 1 when folded, 0 for a duplicate.
-- The fields it needs are read with one HMGET and written with one HSET:
-- a fold costs about ten commands whatever the number of items.
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

-- Reads first, writes after: a script that fails (a key of the wrong
-- type, Redis out of memory at the first write) must fail before it has
-- written anything, above all the dedupe marker, or the retry would skip
-- an event that was never folded.
if redis.call('EXISTS', KEYS[2]) == 1 then
  ack()
  return 0
end

local i = 8
local aff, cnt, cart, rec = {}, {}, {}, {}
local n = tonumber(ARGV[i]); i = i + 1
for k = 1, n do aff[k] = { ARGV[i], tonumber(ARGV[i + 1]) }; i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for k = 1, n do cnt[k] = { ARGV[i], ARGV[i + 1] }; i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for k = 1, n do cart[k] = { 'c|' .. ARGV[i], tonumber(ARGV[i + 1]) }; i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for k = 1, n do rec[k] = ARGV[i]; i = i + 1 end

local names = { 'sid', 'slast', 'r', 'u' }
for _, a in ipairs(aff) do names[#names + 1] = a[1] end
for _, c in ipairs(cart) do names[#names + 1] = c[1] end
local vals = redis.call('HMGET', f, unpack(names))
local cur = {}
for j, name in ipairs(names) do cur[name] = vals[j] end
local out = {} -- field -> new value, false = delete
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])

-- Decayed counts: added at the later of the event time and the last update.
for _, a in ipairs(aff) do
  local v = cur[a[1]]
  local s, last = 1, t
  if v then
    local c = string.find(v, ':', 1, true)
    local s0, l0 = tonumber(string.sub(v, 1, c - 1)), tonumber(string.sub(v, c + 1))
    if t >= l0 then
      s = s0 * 2 ^ (-(t - l0) / a[2]) + 1
    else
      s = s0 + 2 ^ (-(l0 - t) / a[2])
      last = l0
    end
  end
  local nv = string.format('%.17g', s) .. ':' .. string.format('%d', last)
  cur[a[1]] = nv
  out[a[1]] = nv
end

-- Session: a new session id newer than the current session resets the
-- counters; a late event of an earlier session counts nowhere.
local sid = ARGV[6]
local counts = false
if sid ~= '' then
  local sl = tonumber(cur['slast'] or '0')
  if cur['sid'] == sid then
    counts = true
    if t > sl then out['slast'] = tstr end
  elseif t >= sl then
    counts = true
    for _, k in ipairs(redis.call('HKEYS', f)) do
      if string.sub(k, 1, 2) == 's|' then redis.call('HDEL', f, k) end
    end
    out['sid'] = sid
    out['slast'] = tstr
  end
end
if counts then
  for _, c in ipairs(cnt) do redis.call('HINCRBY', f, 's|' .. c[1], c[2]) end
end

for _, c in ipairs(cart) do
  local q = tonumber(cur[c[1]] or '0') + c[2]
  if q > 0 and c[2] ~= CLEAR then
    cur[c[1]] = string.format('%d', q)
  else
    cur[c[1]] = false
  end
  out[c[1]] = cur[c[1]]
end

if #rec > 0 then
  local cap = tonumber(ARGV[7])
  local list = {}
  if cur['r'] then
    for e in string.gmatch(cur['r'], '[^;]+') do
      local a = string.find(e, '@', 1, true)
      list[#list + 1] = { string.sub(e, 1, a - 1), tonumber(string.sub(e, a + 1)) }
    end
  end
  for _, item in ipairs(rec) do
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
  out['r'] = table.concat(parts, ';')
end

if t > tonumber(cur['u'] or '0') then out['u'] = tstr end

local set, del = {}, {}
for k, v in pairs(out) do
  if v then
    set[#set + 1] = k
    set[#set + 1] = v
  else
    del[#del + 1] = k
  end
end
if #set > 0 then redis.call('HSET', f, unpack(set)) end
if #del > 0 then redis.call('HDEL', f, unpack(del)) end
redis.call('HINCRBY', f, 'n', 1)
redis.call('PEXPIRE', f, ARGV[4])
ack()
return 1

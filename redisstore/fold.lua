-- fold.lua: fold a batch of one partition's messages into guest features,
-- each exactly once, and ack the folded ones, in one call. The Lua twin of
-- guest.State.Apply.
-- KEYS[1] the partition's stream; for message m (1-based) KEYS[2m] its
--   guest's features hash and KEYS[2m+1] its dedupe key.
-- ARGV[1] group, ARGV[2] dedupe TTL ms, ARGV[3] expiry ms, ARGV[4] recent
--   cap, then per message: message id ('' = do not ack), event time ms,
--   session id, then counted lists: n affinity ops (field, half-life ms),
--   n counters (name, delta), n cart ops (item, delta), n recent items.
-- Returns one entry per message: 1 folded, 0 duplicate, or the error
-- string of a read that failed (that message is neither folded nor acked:
-- it stays pending, is claimed again and dead-lettered after
-- MaxDeliveries, while the rest of the batch folds).
-- One call per batch instead of one per event: the per-call cost (script
-- lookup, argument tables, a round trip's share) and XACK/XDEL are paid
-- once per batch; per event it reads with EXISTS and one HMGET and writes
-- with SET, one HSET (counters and the event count included) and, once
-- per guest and call, PEXPIRE.
local stream, group = KEYS[1], ARGV[1]
local ttl, expiry, cap = ARGV[2], ARGV[3], tonumber(ARGV[4])
local CLEAR = -1099511627776
local expired = {} -- features keys given their TTL in this call

local function fmtint(x) return string.format('%d', x) end

-- fold one message. Reads first, writes after, and every read through
-- pcall: a message whose read fails (a key of the wrong type) must fail
-- before it has written anything, above all its dedupe marker, or the
-- retry would skip an event that was never folded; and it must not stop
-- the batch. A write that fails (Redis out of memory) aborts the call:
-- the messages folded before it carry their dedupe markers and are only
-- acked when delivered again.
local function fold(f, seen, t, tstr, sid, aff, cnt, cart, rec)
  local ex = redis.pcall('EXISTS', seen)
  if type(ex) == 'table' then return ex.err end
  if ex == 1 then return 0 end

  local names = { 'sid', 'slast', 'r', 'u', 'n' }
  for _, a in ipairs(aff) do names[#names + 1] = a[1] end
  for _, c in ipairs(cart) do names[#names + 1] = c[1] end
  for _, c in ipairs(cnt) do names[#names + 1] = c[1] end
  local vals = redis.pcall('HMGET', f, unpack(names))
  if vals.err then return vals.err end
  local cur = {}
  for j, name in ipairs(names) do cur[name] = vals[j] end
  local out = {} -- field -> new value, false = delete

  -- Session: a new session id newer than the current session resets the
  -- counters; a late event of an earlier session counts nowhere.
  local counts = false
  if sid ~= '' then
    local sl = tonumber(cur['slast'] or '0')
    if cur['sid'] == sid then
      counts = true
      if t > sl then out['slast'] = tstr end
    elseif t >= sl then
      counts = true
      local ks = redis.pcall('HKEYS', f)
      if ks.err then return ks.err end
      for _, k in ipairs(ks) do
        if string.sub(k, 1, 2) == 's|' then
          cur[k] = false
          out[k] = false
        end
      end
      out['sid'] = sid
      out['slast'] = tstr
    end
  end
  if counts then
    for _, c in ipairs(cnt) do
      cur[c[1]] = fmtint(tonumber(cur[c[1]] or '0') + c[2])
      out[c[1]] = cur[c[1]]
    end
  end

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
    local nv = string.format('%.17g', s) .. ':' .. fmtint(last)
    cur[a[1]] = nv
    out[a[1]] = nv
  end

  for _, c in ipairs(cart) do
    local q = tonumber(cur[c[1]] or '0') + c[2]
    if q > 0 and c[2] ~= CLEAR then
      cur[c[1]] = fmtint(q)
    else
      cur[c[1]] = false
    end
    out[c[1]] = cur[c[1]]
  end

  if #rec > 0 then
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
    for _, e in ipairs(list) do parts[#parts + 1] = e[1] .. '@' .. fmtint(e[2]) end
    out['r'] = table.concat(parts, ';')
  end

  if t > tonumber(cur['u'] or '0') then out['u'] = tstr end
  out['n'] = fmtint(tonumber(cur['n'] or '0') + 1)

  local set, del = {}, {}
  for k, v in pairs(out) do
    if v then
      set[#set + 1] = k
      set[#set + 1] = v
    else
      del[#del + 1] = k
    end
  end
  redis.call('SET', seen, '1', 'PX', ttl)
  redis.call('HSET', f, unpack(set)) -- never empty: 'n' is in it
  if #del > 0 then redis.call('HDEL', f, unpack(del)) end
  if not expired[f] then
    redis.call('PEXPIRE', f, expiry)
    expired[f] = true
  end
  return 1
end

local result, acks = {}, {}
local i, m = 5, 0
while i <= #ARGV do
  m = m + 1
  local id, tstr, sid = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local aff, cnt, cart, rec = {}, {}, {}, {}
  local n = tonumber(ARGV[i]); i = i + 1
  for k = 1, n do aff[k] = { ARGV[i], tonumber(ARGV[i + 1]) }; i = i + 2 end
  n = tonumber(ARGV[i]); i = i + 1
  for k = 1, n do cnt[k] = { 's|' .. ARGV[i], tonumber(ARGV[i + 1]) }; i = i + 2 end
  n = tonumber(ARGV[i]); i = i + 1
  for k = 1, n do cart[k] = { 'c|' .. ARGV[i], tonumber(ARGV[i + 1]) }; i = i + 2 end
  n = tonumber(ARGV[i]); i = i + 1
  for k = 1, n do rec[k] = ARGV[i]; i = i + 1 end
  local r = fold(KEYS[2 * m], KEYS[2 * m + 1], tonumber(tstr), tstr, sid, aff, cnt, cart, rec)
  result[m] = r
  if type(r) == 'number' and id ~= '' then acks[#acks + 1] = id end
end

-- Ack and delete the folded messages, at most 1,000 ids per command (Lua's
-- unpack is bounded by its stack).
for j = 1, #acks, 1000 do
  local ids = { unpack(acks, j, math.min(j + 999, #acks)) }
  redis.call('XACK', stream, group, unpack(ids))
  redis.call('XDEL', stream, unpack(ids))
end
return result

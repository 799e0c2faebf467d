-- fold.lua: fold a batch of one partition's messages into guest features,
-- each exactly once, and ack the folded ones, in one call. The Lua twin of
-- guest.State.Apply.
-- KEYS[1] the partition's stream, KEYS[2] its failure counts, KEYS[3] its
--   dead letters' events (both dead.lua's); for message m (1-based)
--   KEYS[2m+2] its guest's features hash and KEYS[2m+3] its dedupe key.
-- ARGV[1] group, ARGV[2] dedupe TTL ms, ARGV[3] expiry ms, ARGV[4] recent
--   cap, then per message: message id ('' = do not ack), event time ms,
--   session id, then counted lists: n affinity ops (field, half-life ms),
--   n counters (name, delta), n cart ops (item, delta), n recent items.
-- Returns one entry per message: 1 folded, 0 duplicate, 2 gone (no
-- longer in the stream: another worker folded or dead-lettered it since
-- this one read it), or the error string of a read that failed (that
-- message is neither folded nor acked: it stays pending and is claimed
-- again, while the rest of the batch folds; the worker charges it when
-- the failure is the message's own and dead-letters it after MaxFailures).
--
-- Exclusion: a message folds only while it is still in the stream, and
-- both ends of a message (this script's XDEL after its fold, dead.lua's
-- XDEL with its dead letter) delete it atomically with their effect, so
-- of a slow worker's fold and another worker's dead-lettering of the same
-- message only the first happens (TestSlowFoldOfDeadLetteredMessage).
--
-- Cost: one call per batch instead of one per event, so the per-call cost
-- (script lookup, argument tables, a round trip's share) and XACK/XDEL are
-- paid once per batch. The batch's messages are grouped by guest (in
-- stream order within a guest): per event one XRANGE of its id (still in
-- the stream: 2-4 µs of Redis CPU per event, BENCHMARKS.md §6b) and one
-- SET NX (the dedupe check and marker in one), per guest one HMGET of
-- every field its events touch, one HSET and only when needed HKEYS (a
-- session change), HDEL and PEXPIRE; one EXISTS per batch (dead letters).
-- The features' TTL is renewed when the mark 'x' (server time of the last
-- renewal) is older than 1/64 of the expiry, so a guest's features may
-- expire up to 1/64 of Expiry early and a steady guest costs no PEXPIRE.
--
-- Failure: a guest's markers are set first, then its reads and its fold
-- in memory run through pcall; any error there (a key of the wrong type, a
-- stored value that does not parse) takes the guest's new markers back and
-- reports its messages, so their retry folds them, and the batch goes on.
-- A stored renewal mark 'x' that does not parse is simply renewed. Writes
-- cannot then fail half-way: Redis refuses a script's writes for
-- maxmemory only at its first write.
-- count, the record's reader, is record.lua's (scripts.go prepends it).
local stream, group = KEYS[1], ARGV[1]
local ttl, expiry, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local CLEAR = -1099511627776
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local renew = math.floor(expiry / 64)

local function fmtint(x) return string.format('%d', x) end

local msgs, groups, order = {}, {}, {}
local i, m = 5, 0
while i <= #ARGV do
  m = m + 1
  local e = { id = ARGV[i], tstr = ARGV[i + 1], sid = ARGV[i + 2], f = KEYS[2 * m + 2], seen = KEYS[2 * m + 3],
    aff = {}, cnt = {}, cart = {}, rec = {} }
  e.t = tonumber(e.tstr)
  i = i + 3
  -- Operations as flat (name, number) pairs: no table per operation.
  local n = tonumber(ARGV[i]); i = i + 1
  for k = 1, 2 * n, 2 do e.aff[k], e.aff[k + 1] = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2 end
  n = tonumber(ARGV[i]); i = i + 1
  for k = 1, 2 * n, 2 do e.cnt[k], e.cnt[k + 1] = 's|' .. ARGV[i], tonumber(ARGV[i + 1]); i = i + 2 end
  n = tonumber(ARGV[i]); i = i + 1
  for k = 1, 2 * n, 2 do e.cart[k], e.cart[k + 1] = 'c|' .. ARGV[i], tonumber(ARGV[i + 1]); i = i + 2 end
  n = tonumber(ARGV[i]); i = i + 1
  for k = 1, n do e.rec[k] = ARGV[i]; i = i + 1 end
  msgs[m] = e
  if not groups[e.f] then
    groups[e.f] = {}
    order[#order + 1] = e.f
  end
  local g = groups[e.f]
  g[#g + 1] = m
end

local result = {}
local marked = {} -- dedupe keys set by this call (a message twice in one batch)

-- apply folds event e into the guest's fields: cur (current values,
-- false = absent), out (changed: new value, false = delete) and sfields
-- (the session counter fields that may exist). It returns an error string
-- when the HKEYS a session change needs fails.
local cur, out -- the guest being folded: current values and changes

local function put(k, v)
  cur[k] = v
  out[k] = v
end

local function apply(f, e, st)
  local t, tstr = e.t, e.tstr
  -- Session: a new session id newer than the current session resets the
  -- counters; a late event of an earlier session counts nowhere.
  local counts = false
  if e.sid ~= '' then
    local sl = tonumber(cur['slast'] or '0')
    if cur['sid'] == e.sid then
      counts = true
      if t > sl then put('slast', tstr) end
    elseif t >= sl then
      counts = true
      -- Counters exist only under a session id: no id, nothing to clear.
      if cur['sid'] then
        if not st.keys then
          local ks = redis.pcall('HKEYS', f)
          if ks.err then return ks.err end
          for _, k in ipairs(ks) do
            if string.sub(k, 1, 2) == 's|' then st.sfields[k] = true end
          end
          st.keys = true
        end
        for k in pairs(st.sfields) do put(k, false) end
        st.sfields = {}
      end
      put('sid', e.sid)
      put('slast', tstr)
    end
  end
  if counts then
    local cnt = e.cnt
    for k = 1, #cnt, 2 do
      put(cnt[k], fmtint(tonumber(cur[cnt[k]] or '0') + cnt[k + 1]))
      st.sfields[cnt[k]] = true
    end
  end

  -- Decayed counts: added at the later of the event time and the last update.
  local aff = e.aff
  for k = 1, #aff, 2 do
    local v = cur[aff[k]]
    local s, last = 1, t
    if v then
      local c = string.find(v, ':', 1, true)
      local s0, l0 = tonumber(string.sub(v, 1, c - 1)), tonumber(string.sub(v, c + 1))
      if t >= l0 then
        s = s0 * 2 ^ (-(t - l0) / aff[k + 1]) + 1
      else
        s = s0 + 2 ^ (-(l0 - t) / aff[k + 1])
        last = l0
      end
    end
    put(aff[k], string.format('%.17g:%d', s, last))
  end

  local cart = e.cart
  for k = 1, #cart, 2 do
    local q = tonumber(cur[cart[k]] or '0') + cart[k + 1]
    if q > 0 and cart[k + 1] ~= CLEAR then put(cart[k], fmtint(q)) else put(cart[k], false) end
  end

  -- The recent list is parsed once per guest (st.list) and written once.
  if #e.rec > 0 then
    if not st.list then
      st.list = {}
      if cur['r'] then
        for x in string.gmatch(cur['r'], '[^;]+') do
          local a = string.find(x, '@', 1, true)
          st.list[#st.list + 1] = { string.sub(x, 1, a - 1), tonumber(string.sub(x, a + 1)) }
        end
      end
    end
    local list = st.list
    for _, item in ipairs(e.rec) do
      local skip = false
      for idx, x in ipairs(list) do
        if x[1] == item then
          if x[2] >= t then skip = true else table.remove(list, idx) end
          break
        end
      end
      if not skip then
        local pos = #list + 1
        for idx, x in ipairs(list) do
          if x[2] < t then pos = idx; break end
        end
        table.insert(list, pos, { item, t })
        while #list > cap do table.remove(list) end
      end
    end
  end

  if t > tonumber(cur['u'] or '0') then put('u', tstr) end
  put('n', fmtint(tonumber(cur['n'] or '0') + 1))
  return nil
end

-- chunk bounds the values one command takes from a Lua list.
local chunk = 1000

-- foldGuest folds the messages ms (indexes into msgs) of one guest.
local function foldGuest(f, ms)
  local fresh = {}
  for _, mi in ipairs(ms) do
    local e = msgs[mi]
    if e.id ~= '' and not redis.call('XRANGE', stream, e.id, e.id)[1] then
      -- Gone from the stream: folded, or dead-lettered, by another worker
      -- (dead.lua deletes it in the call that dead-letters it).
      result[mi] = 2
    elseif marked[e.seen] then
      result[mi] = 0
    else
      local ok = redis.pcall('SET', e.seen, '1', 'PX', ttl, 'NX')
      if type(ok) == 'table' and ok.err then
        result[mi] = ok.err
      elseif not ok then
        result[mi] = 0
      else
        marked[e.seen] = true
        fresh[#fresh + 1] = mi
      end
    end
  end
  if #fresh == 0 then return end
  local function fail(err)
    for _, mi in ipairs(fresh) do
      redis.call('DEL', msgs[mi].seen)
      marked[msgs[mi].seen] = nil
      result[mi] = err
    end
  end

  -- plan reads the guest's fields and folds its events in memory: every
  -- error between the markers and the writes (a failed read, a stored
  -- value it cannot parse, wherever it is met) goes through fail, which
  -- removes the markers; one that escaped would end the script with the
  -- markers written and the events unfolded, and their retry would ack
  -- them as duplicates (TestCorruptFeaturesLoseNoEvent). It returns an
  -- error string, or nil and the fields to set and delete and whether to
  -- renew the TTL.
  local function plan()
    local names, have = { 'sid', 'slast', 'r', 'u', 'n', 'x' }, {}
    local function need(k)
      if not have[k] then
        have[k] = true
        names[#names + 1] = k
      end
    end
    for _, mi in ipairs(fresh) do
      local e = msgs[mi]
      for k = 1, #e.aff, 2 do need(e.aff[k]) end
      for k = 1, #e.cart, 2 do need(e.cart[k]) end
      for k = 1, #e.cnt, 2 do need(e.cnt[k]) end
    end
    -- At most chunk fields per command: Lua's unpack is bounded by its
    -- stack (about 8,000 values), and a guest's batch can touch more
    -- fields (40 carts of 100 items).
    cur, out = {}, {}
    for j = 1, #names, chunk do
      local last = math.min(j + chunk - 1, #names)
      local vals = redis.pcall('HMGET', f, unpack(names, j, last))
      if vals.err then return vals.err end
      for i = j, last do cur[names[i]] = vals[i - j + 1] end
    end
    local st = { keys = false, sfields = {}, list = false }
    for _, mi in ipairs(fresh) do
      local err = apply(f, msgs[mi], st)
      if err then return err end
    end
    if st.list then
      local parts = {}
      for _, x in ipairs(st.list) do parts[#parts + 1] = x[1] .. '@' .. fmtint(x[2]) end
      out['r'] = table.concat(parts, ';')
    end
    -- A mark that does not parse (written by something else) is renewed.
    local renewed = nowMs - (tonumber(cur['x'] or '0') or 0) >= renew
    if renewed then out['x'] = fmtint(nowMs) end
    local set, del = {}, {}
    for k, v in pairs(out) do
      if v then
        set[#set + 1] = k
        set[#set + 1] = v
      else
        del[#del + 1] = k
      end
    end
    return nil, set, del, renewed
  end
  local ok, err, set, del, renewed = pcall(plan)
  if not ok and type(err) == 'table' and err.err then err = err.err end
  if not ok then return fail(tostring(err)) end
  if err then return fail(err) end
  for _, mi in ipairs(fresh) do result[mi] = 1 end
  for j = 1, #set, 2 * chunk do -- never empty: 'n' is in it
    redis.call('HSET', f, unpack(set, j, math.min(j + 2 * chunk - 1, #set)))
  end
  for j = 1, #del, chunk do
    redis.call('HDEL', f, unpack(del, j, math.min(j + chunk - 1, #del)))
  end
  if renewed then redis.call('PEXPIRE', f, expiry) end
end

for _, f in ipairs(order) do foldGuest(f, groups[f]) end

-- A folded event that has dead letters (dead.lua) is recorded as folded
-- in the dead letters' events hash, so that redrive.lua drops them
-- however long after this fold it runs, when the dedupe marker may be
-- gone. One EXISTS per batch while the partition has no dead letters.
-- Its commands run through pcall and their errors are ignored: they come
-- after the guests' writes, and a key of the wrong type here would fail
-- the whole call, whose retry acks the events as duplicates without ever
-- recording them. A record that cannot be read is not one to update:
-- dead.lua refuses to dead-letter over it and redrive.lua to move past it.
local deadseen = KEYS[3]
if redis.call('EXISTS', deadseen) == 1 then
  for mi = 1, m do
    if result[mi] == 1 then
      local v = redis.pcall('HGET', deadseen, msgs[mi].seen)
      local n = 0
      if type(v) ~= 'table' then n = count(v) end
      if n > 0 then redis.pcall('HSET', deadseen, msgs[mi].seen, -n) end
    end
  end
end

-- Ack and delete the folded and duplicate messages, at most 1,000 ids per
-- command (Lua's unpack is bounded by its stack), and forget their failure
-- counts (one EXISTS per batch while no message has failed). The HDEL
-- runs through pcall, its error ignored: it comes after the guests'
-- writes and the acks, and a failure-count key of the wrong type would
-- otherwise fail a call whose events are folded and acked (uncounted by
-- Store.Folded, and nothing left for a retry to do).
local fails = KEYS[2]
local charged = redis.call('EXISTS', fails) == 1
local acks = {}
for mi = 1, m do
  if type(result[mi]) == 'number' and msgs[mi].id ~= '' then acks[#acks + 1] = msgs[mi].id end
end
for j = 1, #acks, 1000 do
  local ids = { unpack(acks, j, math.min(j + 999, #acks)) }
  redis.call('XACK', stream, group, unpack(ids))
  redis.call('XDEL', stream, unpack(ids))
  if charged then redis.pcall('HDEL', fails, unpack(ids)) end
end
return result

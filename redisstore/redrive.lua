-- redrive.lua: move up to ARGV[3] dead letters, oldest first and none
-- newer than ARGV[2], back to the live stream, except those whose event
-- has been folded since they were dead-lettered (dropped); each entry's
-- XADD or drop and its XDEL in the same atomic call, so an entry is moved
-- at most once.
-- KEYS[1] dead-letter stream, KEYS[2] stream, KEYS[3] the dead letters'
--   events (hash dedupe key -> n, see dead.lua)
-- ARGV[1] max backlog, ARGV[2] last dead-letter id to move, ARGV[3] count
-- Returns {moved, dropped}; an error BACKLOG when the stream is full.
-- count, the record's reader, is record.lua's (scripts.go prepends it).

-- A partition without dead letters has no use for their record: it is
-- deleted, here and once the loop has emptied the stream, so that fields
-- left behind by dead letters gone another way (deleted by hand, or
-- redriven by an older binary that did not know the record) do not cost
-- every fold of the partition an HGET per event forever.
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[3])
  return { 0, 0 }
end
if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[1]) then
  return redis.error_reply('BACKLOG stream holds the maximum backlog; redrive again once it has drained')
end
local entries = redis.call('XRANGE', KEYS[1], '-', ARGV[2], 'COUNT', ARGV[3])
local moved, dropped = 0, 0
for _, m in ipairs(entries) do
  local fields, payload, k = m[2], '', false
  for j = 1, #fields, 2 do
    if fields[j] == 'e' then payload = fields[j + 1] end
    if fields[j] == 'k' then k = fields[j + 1] end
  end
  -- k is absent from a dead letter that does not decode (and from those
  -- written before it existed): moved, as before.
  local n = 0
  if k then n = count(redis.call('HGET', KEYS[3], k)) end
  if n < 0 then
    dropped = dropped + 1
    n = n + 1
  else
    redis.call('XADD', KEYS[2], '*', 'e', payload)
    moved = moved + 1
    if n > 0 then n = n - 1 end
  end
  if k then
    if n == 0 then redis.call('HDEL', KEYS[3], k) else redis.call('HSET', KEYS[3], k, n) end
  end
  redis.call('XDEL', KEYS[1], m[1])
end
if redis.call('XLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[3]) end
return { moved, dropped }

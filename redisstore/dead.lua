-- dead.lua: charge a message for a failure it caused, and move it to the
-- dead-letter stream (and ack it) once it has been charged the limit.
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] failure counts (hash
-- message id -> failures the message itself caused), KEYS[4] the dead
-- letters' events (hash, see below), KEYS[5] the event's dedupe key
-- (absent when the payload does not decode)
-- ARGV[1] group, ARGV[2] message id, ARGV[3] reason, ARGV[4] payload
-- ("" = read it from the stream), ARGV[5] limit ("0" = dead-letter now).
-- Returns 1 when the message was dead-lettered, 2 when it was dropped as
-- a duplicate (its event has been folded from another copy since: its
-- dedupe marker exists, or its record below is negative), 0 when
-- only charged (or already gone: folded or dead-lettered by another
-- worker).
--
-- The dead letters' events hash maps an event's dedupe key to n, the
-- number of its dead letters: n > 0 while the event has not been folded
-- since the first of them was written, -n once it has (fold.lua turns it
-- negative, redrive.lua drops such dead letters and counts n back to 0).
-- Each dead letter carries the key as field 'k'.
-- count, the record's reader, is record.lua's (scripts.go prepends it).

local id = ARGV[2]
local payload = ARGV[4]
local seen = KEYS[5]
local m = redis.call('XRANGE', KEYS[1], id, id)
if not m[1] then
  redis.call('HDEL', KEYS[3], id)
  return 0
end
-- The record is read before any write: a read that fails (the key is not
-- a hash) ends the script with nothing written, the message still
-- pending and uncharged, rather than with a dead letter written and the
-- message left in the stream to be dead-lettered again and folded.
local n = 0
if seen then n = count(redis.call('HGET', KEYS[4], seen)) end
if n < 0 or (seen and redis.call('EXISTS', seen) == 1) then
  -- The event has been folded from another copy while this one failed:
  -- its dedupe marker exists, or (the marker expired) the record of its
  -- earlier dead letters says so. This copy is a duplicate, not a dead
  -- letter (which only a redrive would drop).
  redis.call('XACK', KEYS[1], ARGV[1], id)
  redis.call('XDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[3], id)
  return 2
end
local limit = tonumber(ARGV[5])
if limit > 0 and redis.call('HINCRBY', KEYS[3], id, 1) < limit then
  return 0
end
if payload == '' then
  local fields = m[1][2]
  for j = 1, #fields, 2 do
    if fields[j] == 'e' then payload = fields[j + 1] end
  end
end
if seen then
  redis.call('XADD', KEYS[2], '*', 'id', id, 'reason', ARGV[3], 'e', payload, 'k', seen)
  -- n >= 0 here: a negative record took the duplicate's path above.
  redis.call('HSET', KEYS[4], seen, n + 1)
else
  redis.call('XADD', KEYS[2], '*', 'id', id, 'reason', ARGV[3], 'e', payload)
end
redis.call('XACK', KEYS[1], ARGV[1], id)
redis.call('XDEL', KEYS[1], id)
redis.call('HDEL', KEYS[3], id)
return 1

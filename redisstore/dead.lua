-- dead.lua: charge a message for a failure it caused, and move it to the
-- dead-letter stream (and ack it) once it has been charged the limit.
-- KEYS[1] stream, KEYS[2] dead-letter stream, KEYS[3] failure counts (hash
-- message id -> failures the message itself caused)
-- ARGV[1] group, ARGV[2] message id, ARGV[3] reason, ARGV[4] payload
-- ("" = read it from the stream), ARGV[5] limit ("0" = dead-letter now).
-- Returns 1 when the message was dead-lettered, 0 when only charged (or
-- already gone: folded or dead-lettered by another worker).
local id = ARGV[2]
local payload = ARGV[4]
local m = redis.call('XRANGE', KEYS[1], id, id)
if not m[1] then
  redis.call('HDEL', KEYS[3], id)
  return 0
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
redis.call('XADD', KEYS[2], '*', 'id', id, 'reason', ARGV[3], 'e', payload)
redis.call('XACK', KEYS[1], ARGV[1], id)
redis.call('XDEL', KEYS[1], id)
redis.call('HDEL', KEYS[3], id)
return 1

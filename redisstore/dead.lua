-- dead.lua: move one message to the dead-letter stream and ack it.
-- KEYS[1] stream, KEYS[2] dead-letter stream
-- ARGV[1] group, ARGV[2] message id, ARGV[3] reason, ARGV[4] payload
-- ("" = read it from the stream).
local payload = ARGV[4]
if payload == '' then
  local m = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
  if m[1] then
    local fields = m[1][2]
    for j = 1, #fields, 2 do
      if fields[j] == 'e' then payload = fields[j + 1] end
    end
  end
end
redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'reason', ARGV[3], 'e', payload)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1

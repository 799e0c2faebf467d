-- redrive.lua: move up to ARGV[3] dead letters, oldest first and none
-- newer than ARGV[2], back to the live stream; each XADD and its XDEL in
-- the same atomic call, so an entry is moved at most once.
-- KEYS[1] dead-letter stream, KEYS[2] stream
-- ARGV[1] max backlog, ARGV[2] last dead-letter id to move, ARGV[3] count
-- Returns the number moved; an error BACKLOG when the stream is full.
if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[1]) then
  return redis.error_reply('BACKLOG stream holds the maximum backlog; redrive again once it has drained')
end
local entries = redis.call('XRANGE', KEYS[1], '-', ARGV[2], 'COUNT', ARGV[3])
for _, m in ipairs(entries) do
  local fields, payload = m[2], ''
  for j = 1, #fields, 2 do
    if fields[j] == 'e' then payload = fields[j + 1] end
  end
  redis.call('XADD', KEYS[2], '*', 'e', payload)
  redis.call('XDEL', KEYS[1], m[1])
end
return #entries

-- append.lua: append one partition's share of a batch, or refuse it whole.
-- KEYS[1] the partition's stream
-- ARGV[1] MaxBacklog; ARGV[2..] encoded events
-- Returns the stream ids, or an error reply starting BACKLOG.
local n = #ARGV - 1
local backlog = redis.call('XLEN', KEYS[1])
if backlog + n > tonumber(ARGV[1]) then
  return redis.error_reply('BACKLOG ' .. backlog .. ' unfolded events, limit ' .. ARGV[1])
end
local ids = {}
for i = 2, #ARGV do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
end
return ids

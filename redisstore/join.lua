-- join.lua: the shared join of bandit impressions and feedback, one slot
-- per key, so every replica joins the events any replica accepted.
-- KEYS[1] <prefix>:bandit-imp:<impression id>#<slot>, a hash:
--   s surface, a arm, t impression time µs, r present once rewarded.
-- ARGV[1] 'impression': ARGV[2] surface, ARGV[3] arm, ARGV[4] time µs,
--   ARGV[5] keep ms. Returns 1 when registered, 0 for a repeat.
-- ARGV[1] 'feedback': ARGV[2] feedback time µs, ARGV[3] window µs.
--   Returns {outcome} or {'credited', surface, arm, impression time µs};
--   outcome is unknown, late or duplicate. The first feedback in the
--   window marks the slot rewarded: a slot earns at most one reward.
-- ARGV[1] 'undo': forget the reward mark (the credit could not be stored).
-- ARGV[1] 'forget': forget the impression (its pull could not be stored).
local k = KEYS[1]
if ARGV[1] == 'impression' then
  if redis.call('EXISTS', k) == 1 then return 0 end
  redis.call('HSET', k, 's', ARGV[2], 'a', ARGV[3], 't', ARGV[4])
  redis.call('PEXPIRE', k, ARGV[5])
  return 1
elseif ARGV[1] == 'feedback' then
  local v = redis.call('HMGET', k, 's', 'a', 't', 'r')
  if not v[1] then return { 'unknown' } end
  if tonumber(ARGV[2]) - tonumber(v[3]) > tonumber(ARGV[3]) then return { 'late' } end
  if v[4] then return { 'duplicate' } end
  redis.call('HSET', k, 'r', '1')
  return { 'credited', v[1], v[2], v[3] }
elseif ARGV[1] == 'undo' then
  redis.call('HDEL', k, 'r')
  return 1
elseif ARGV[1] == 'forget' then
  redis.call('DEL', k)
  return 1
end
return redis.error_reply('join.lua: unknown operation ' .. tostring(ARGV[1]))

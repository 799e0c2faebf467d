-- arms.lua: add increments to a surface's arm statistics, atomically.
-- The Lua twin of bandit.Counts.Plus (same maths as the in-process store).
-- KEYS[1] the surface's hash <prefix>:bandit:{<surface>}: one field per
--   arm, value "pulls:rewards:at_us" (%.17g counts, at in Unix µs).
-- ARGV[1] half-life in µs (0: no discounting), then per increment:
--   arm, pulls, rewards, at µs. An arm may repeat; increments apply in order.
-- Returns the number of increments applied.
local h = tonumber(ARGV[1])
local n = (#ARGV - 1) / 4
local names = {}
for k = 1, n do names[k] = ARGV[2 + 4 * (k - 1)] end
-- One read before any write: a failing script writes nothing.
local vals = redis.call('HMGET', KEYS[1], unpack(names))
local cur = {}
for k = 1, n do
  local v = vals[k]
  if v and cur[names[k]] == nil then
    local a = string.find(v, ':', 1, true)
    local b = string.find(v, ':', a + 1, true)
    cur[names[k]] = { tonumber(string.sub(v, 1, a - 1)), tonumber(string.sub(v, a + 1, b - 1)), tonumber(string.sub(v, b + 1)) }
  end
end

local function decay(age)
  return 2 ^ (-age / h)
end

for k = 1, n do
  local i = 2 + 4 * (k - 1)
  local arm, p, r, t = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local c = cur[arm]
  if c == nil then
    cur[arm] = { p, r, t }
  elseif t >= c[3] then
    -- Newer (or same time): decay the sum to the increment's time, add.
    local f = 1
    if h > 0 and t > c[3] then f = decay(t - c[3]) end
    cur[arm] = { c[1] * f + p, c[2] * f + r, t }
  else
    -- A late increment is itself decayed to the newer time.
    local f = 1
    if h > 0 then f = decay(c[3] - t) end
    cur[arm] = { c[1] + f * p, c[2] + f * r, c[3] }
  end
end

local set = {}
for arm, c in pairs(cur) do
  set[#set + 1] = arm
  set[#set + 1] = string.format('%.17g', c[1]) .. ':' .. string.format('%.17g', c[2]) .. ':' .. string.format('%d', c[3])
end
redis.call('HSET', KEYS[1], unpack(set))
return n

-- record.lua: prepended to fold.lua, dead.lua and redrive.lua (scripts.go),
-- the three scripts that read the dead letters' record (dead.lua
-- describes it). It only defines; the script that follows runs.

-- count reads a field of the dead letters' record: an integer, or 0 for
-- anything else (absent, or a value written by something else), which is
-- "not folded since": its dead letters are moved, never dropped, so
-- nothing is lost, where an error would block the partition's charges,
-- folds or redrive for as long as the field stays.
local function count(v)
  local n = tonumber(v)
  if not n or n ~= math.floor(n) or math.abs(n) > 2 ^ 53 then return 0 end
  return n
end

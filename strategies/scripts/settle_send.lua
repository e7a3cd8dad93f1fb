-- settle_send.lua: settle or give back a claim, only if this caller holds it.
--
-- KEYS[1]  sent:{strategy}  hash slot -> "state|at|lease_until|token|detail"
-- KEYS[2]  lastmsg          zset user -> time (s) of their last strategy message
-- KEYS[3]  sendlog          stream of outcomes
--
-- ARGV[1]  slot
-- ARGV[2]  token of the caller
-- ARGV[3]  action: sent | failed | release
-- ARGV[4]  now (s)
-- ARGV[5]  detail (Slack's error, or the message ts)
-- ARGV[6]  user id ("" for a channel message)
-- ARGV[7]  strategy name, for the send log
-- ARGV[8]  reason recorded in the send log
--
-- Returns 1 when settled, 0 when the claim was no longer this caller's.

local slot, token, action = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', KEYS[1], slot)
if not current then
  return 0
end
local state, at, lease_until, holder = string.match(current,
  '^([^|]*)|([^|]*)|([^|]*)|([^|]*)')
if state ~= 'claimed' or holder ~= token then
  return 0
end

if action == 'release' then
  redis.call('HDEL', KEYS[1], slot)
  local user = ARGV[6]
  if user ~= '' and redis.call('ZSCORE', KEYS[2], user) == at then
    redis.call('ZREM', KEYS[2], user)
  end
else
  redis.call('HSET', KEYS[1], slot,
    table.concat({action, ARGV[4], '0', '', ARGV[5]}, '|'))
  if action == 'sent' and ARGV[6] ~= '' then
    redis.call('ZADD', KEYS[2], ARGV[4], ARGV[6])
  end
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100000, '*', 'strategy', ARGV[7],
  'slot', slot, 'outcome', action == 'release' and 'failed' or action,
  'reason', ARGV[8], 'at', ARGV[4])
return 1

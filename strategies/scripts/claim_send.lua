-- claim_send.lua: claim one send slot and reserve the frequency cap, atomically.
--
-- KEYS[1]  sent:{strategy}  hash slot -> "state|at|lease_until|token|detail"
-- KEYS[2]  lastmsg          zset user -> time (s) of their last strategy message
--
-- ARGV[1]  slot
-- ARGV[2]  user id ("" when the message goes to a channel, not a customer)
-- ARGV[3]  now (s)
-- ARGV[4]  lease (s): how long a claim may stay unsettled before it is in doubt
-- ARGV[5]  token of this claimer
-- ARGV[6]  frequency cap (s); 0 for none
--
-- Returns {status, detail}:
--   claimed      this caller may send now
--   in_doubt     an earlier claim expired unsettled; this caller now holds it
--                and must look for the message before sending; detail is the
--                earlier claim's time (s)
--   already_sent the slot is settled (sent or failed for good); detail is state
--   busy         another caller holds a live lease
--   capped       the user got a strategy message within the cap; detail is when

local slot, user = ARGV[1], ARGV[2]
local now, lease, token, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5],
  tonumber(ARGV[6])

local current = redis.call('HGET', KEYS[1], slot)
local earlier = nil
if current then
  local state, at, lease_until = string.match(current, '^([^|]*)|([^|]*)|([^|]*)')
  if state ~= 'claimed' then
    return {'already_sent', state}
  end
  if tonumber(lease_until) > now then
    return {'busy', at}
  end
  earlier = at
end

if earlier == nil and user ~= '' and cap > 0 then
  local last = redis.call('ZSCORE', KEYS[2], user)
  if last and tonumber(last) > now - cap then
    return {'capped', last}
  end
end

redis.call('HSET', KEYS[1], slot,
  table.concat({'claimed', earlier or tostring(now), tostring(now + lease), token, ''},
    '|'))
if earlier then
  return {'in_doubt', earlier}
end
if user ~= '' then
  redis.call('ZADD', KEYS[2], now, user)
end
return {'claimed', ''}

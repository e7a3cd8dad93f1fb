-- swap_rebuild.lua: replace a tenant's aggregates and indexes with rebuilt ones.
--
-- The rebuild replays the event stream into fresh keys under a shadow prefix
-- (same hash tag); this script swaps them in atomically, but only if no event
-- was appended after the last one the rebuild applied. Customer keys are named
-- from the prefixes and the index members; all share the tenant's hash tag, so
-- they live in one Redis Cluster slot.
--
-- KEYS[1]  events stream of the tenant
-- ARGV[1]  live prefix    "ltv:{T}:"
-- ARGV[2]  shadow prefix  "ltv:{T}:rebuild:"
-- ARGV[3]  id of the last stream entry applied to the shadow keys ("0-0" if none)
-- ARGV[4…] names of the customer-hash fields the rebuild computes; every other
--          field of a live customer hash (profile data others keep there) is
--          carried over, as are fields starting "n_" from the rebuild
--
-- Returns {"swapped", last id} or {"behind", the stream's actual last id}.

local live, shadow, applied = ARGV[1], ARGV[2], ARGV[3]
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #newest > 0 then last_id = newest[1][1] end
if last_id ~= applied then
  return {'behind', last_id}
end

local computed = {}
for i = 4, #ARGV do computed[ARGV[i]] = true end

local function is_computed(name)
  return computed[name] or string.sub(name, 1, 2) == 'n_'
end

local function drop_live_customer(user)
  local key = live .. 'cust:' .. user
  local target = shadow .. 'cust:' .. user
  local has_target = redis.call('EXISTS', target) == 1
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    if has_target and not is_computed(fields[i]) then
      redis.call('HSET', target, fields[i], fields[i + 1])
    end
  end
  redis.call('DEL', key, key .. ':purchases')
end

local function move(from, to)
  if redis.call('EXISTS', from) == 1 then
    redis.call('RENAME', from, to)
  else
    redis.call('DEL', to)
  end
end

for _, user in ipairs(redis.call('ZRANGE', live .. 'idx:first_seen', 0, -1)) do
  drop_live_customer(user)
end
for _, user in ipairs(redis.call('ZRANGE', shadow .. 'idx:first_seen', 0, -1)) do
  move(shadow .. 'cust:' .. user, live .. 'cust:' .. user)
  move(shadow .. 'cust:' .. user .. ':purchases', live .. 'cust:' .. user .. ':purchases')
end
for _, name in ipairs({'purchases', 'orders', 'totals', 'idx:ltv', 'idx:first_seen',
    'idx:last_seen', 'idx:last_purchase'}) do
  move(shadow .. name, live .. name)
end
redis.call('DEL', shadow .. 'seen', shadow .. 'events', shadow .. 'pending:onboarding')
return {'swapped', last_id}

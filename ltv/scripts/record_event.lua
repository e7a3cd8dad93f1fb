-- record_event.lua: accept one customer event atomically.
--
-- KEYS[1]  seen           set of idempotency keys already accepted
-- KEYS[2]  events         stream, the source of truth
-- KEYS[3]  customer       hash of the customer's running aggregates
-- KEYS[4]  cust purchases zset: purchase ref -> time (ms) of that customer's purchases
-- KEYS[5]  purchases      hash: ref -> purchase or refund record "kind|user|amount|
--                         currency|original|at|refunded|voided|order"
-- KEYS[6]  totals         hash of workspace totals
-- KEYS[7]  idx:ltv        zset user -> LTV score (ordering key, minor units)
-- KEYS[8]  idx:first_seen zset user -> first activity (ms)
-- KEYS[9]  idx:last_seen  zset user -> last activity (ms)
-- KEYS[10] idx:last_purchase zset user -> last purchase (ms)
-- KEYS[11] pending:onboarding zset user -> first activity (ms), new customers
-- KEYS[12] orders         hash: order id digest -> ref of the purchase with that id
--
-- ARGV[1]  event id (idempotency key, never empty)
-- ARGV[2]  message key (second idempotency key for interactions, or "")
-- ARGV[3]  kind: interaction | purchase | refund | void
-- ARGV[4]  user id
-- ARGV[5]  at (ms since epoch)
-- ARGV[6]  ref: digest of the purchase/refund source, or ""
-- ARGV[7]  amount in base-currency minor units (integer)
-- ARGV[8]  original currency code
-- ARGV[9]  original amount in its own minor units (integer)
-- ARGV[10] detail: interaction kind, or the digest of the order id a purchase
--          carries or a refund names ("" when none)
-- ARGV[11] now (ms since epoch), for the LTV score
-- ARGV[12] lifespan in periods (number)
-- ARGV[13] period length (ms)
-- ARGV[14] extra JSON kept in the stream entry (user team, note)
-- ARGV[15] "1" when rebuilding from the stream: no stream append, no onboarding
--
-- A purchase or refund whose ref is already stored is an edit of it (a changed
-- message): the amount is replaced under the same checks, never added again.
-- A void of a purchase takes its order-linked refunds' money with it; voiding
-- such a refund afterwards changes no money.
--
-- Returns {status, reason}: status is recorded | duplicate | unchanged | refused |
-- ignored; reason says why for the last three.

local function int(n)
  return string.format('%.0f', n)
end

local event_id, message_key, kind, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local at = tonumber(ARGV[5])
local ref = ARGV[6]
local amount = tonumber(ARGV[7])
local rebuilding = ARGV[15] == '1'

if redis.call('SISMEMBER', KEYS[1], event_id) == 1 then
  return {'duplicate', 'event'}
end
if message_key ~= '' and redis.call('SISMEMBER', KEYS[1], message_key) == 1 then
  return {'duplicate', 'message'}
end

local function mark_seen()
  redis.call('SADD', KEYS[1], event_id)
  if message_key ~= '' then
    redis.call('SADD', KEYS[1], message_key)
  end
end

local function field(name)
  return tonumber(redis.call('HGET', KEYS[3], name) or '0')
end

local function split(record)
  local parts = {}
  for piece in string.gmatch(record, '([^|]*)|?') do
    parts[#parts + 1] = piece
  end
  return {
    kind = parts[1], user = parts[2], amount = tonumber(parts[3]),
    currency = parts[4], original = tonumber(parts[5]), at = tonumber(parts[6]),
    refunded = tonumber(parts[7]), voided = parts[8] == '1', order = parts[9] or ''
  }
end

local function join(r)
  return table.concat({r.kind, r.user, int(r.amount), r.currency, int(r.original),
    int(r.at), int(r.refunded), r.voided and '1' or '0', r.order}, '|')
end

local function touch_customer()
  local is_new = redis.call('HEXISTS', KEYS[3], 'first_seen_ms') == 0
  local first = tonumber(redis.call('HGET', KEYS[3], 'first_seen_ms') or at)
  local last = tonumber(redis.call('HGET', KEYS[3], 'last_seen_ms') or at)
  if at < first then first = at end
  if at > last then last = at end
  redis.call('HSET', KEYS[3], 'first_seen_ms', int(first), 'last_seen_ms', int(last))
  local extra = cjson.decode(ARGV[14])
  if type(extra.user_team) == 'string' then
    redis.call('HSET', KEYS[3], 'user_team', extra.user_team)
  end
  redis.call('ZADD', KEYS[8], first, user)
  redis.call('ZADD', KEYS[9], last, user)
  if is_new then
    redis.call('HINCRBY', KEYS[6], 'customers', 1)
    if not rebuilding then
      redis.call('ZADD', KEYS[11], first, user)
    end
  end
end

local function refresh_purchase_dates()
  local first = redis.call('ZRANGE', KEYS[4], 0, 0, 'WITHSCORES')
  local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
  if #last == 0 then
    redis.call('HDEL', KEYS[3], 'first_purchase_ms', 'last_purchase_ms')
    redis.call('ZREM', KEYS[10], user)
    return
  end
  redis.call('HSET', KEYS[3], 'first_purchase_ms', first[2], 'last_purchase_ms', last[2])
  redis.call('ZADD', KEYS[10], last[2], user)
end

local function refresh_ltv_score()
  local net = field('revenue_minor') - field('refunds_minor')
  if net < 0 then net = 0 end
  local period = tonumber(ARGV[13])
  local now = tonumber(ARGV[11])
  local tenure = now - field('first_seen_ms')
  if tenure < period then tenure = period end
  local score = net * tonumber(ARGV[12]) * period / tenure
  redis.call('HSET', KEYS[3], 'ltv_score', tostring(score))
  redis.call('ZADD', KEYS[7], score, user)
end

local function append_stream()
  if rebuilding then return end
  redis.call('XADD', KEYS[2], '*', 'e', event_id, 'm', message_key, 'k', kind,
    'u', user, 't', ARGV[5], 'r', ref, 'a', ARGV[7], 'c', ARGV[8], 'o', ARGV[9],
    'd', ARGV[10], 'x', ARGV[14])
end

local function add_money(revenue_delta, refunds_delta)
  if revenue_delta ~= 0 then
    redis.call('HINCRBY', KEYS[3], 'revenue_minor', int(revenue_delta))
    redis.call('HINCRBY', KEYS[6], 'revenue_minor', int(revenue_delta))
  end
  if refunds_delta ~= 0 then
    redis.call('HINCRBY', KEYS[3], 'refunds_minor', int(refunds_delta))
    redis.call('HINCRBY', KEYS[6], 'refunds_minor', int(refunds_delta))
  end
end

local function add_purchase_count(delta)
  redis.call('HINCRBY', KEYS[3], 'purchases', delta)
  redis.call('HINCRBY', KEYS[6], 'purchases', delta)
end

local function record_interaction()
  touch_customer()
  redis.call('HINCRBY', KEYS[3], 'interactions', 1)
  redis.call('HINCRBY', KEYS[3], 'n_' .. ARGV[10], 1)
  redis.call('HINCRBY', KEYS[6], 'interactions', 1)
  return {'recorded', ''}
end

local function new_purchase()
  touch_customer()
  local record = {kind = 'purchase', user = user, amount = amount, currency = ARGV[8],
    original = tonumber(ARGV[9]), at = at, refunded = 0, voided = false,
    order = ARGV[10]}
  redis.call('HSET', KEYS[5], ref, join(record))
  if ARGV[10] ~= '' then
    redis.call('HSETNX', KEYS[12], ARGV[10], ref)
  end
  redis.call('ZADD', KEYS[4], at, ref)
  add_purchase_count(1)
  add_money(amount, 0)
  redis.call('HSET', KEYS[3], 'currency_last', ARGV[8])
  refresh_purchase_dates()
  return {'recorded', 'new'}
end

local function edit_purchase(record)
  if record.voided then return {'ignored', 'purchase_voided'} end
  if record.amount == amount and record.original == tonumber(ARGV[9])
      and record.currency == ARGV[8] then
    return {'unchanged', 'same_amount'}
  end
  if amount < record.refunded then return {'refused', 'edit_below_refunds'} end
  add_money(amount - record.amount, 0)
  record.amount, record.currency, record.original = amount, ARGV[8], tonumber(ARGV[9])
  redis.call('HSET', KEYS[5], ref, join(record))
  touch_customer()
  return {'recorded', 'edited'}
end

local function record_purchase()
  local existing = redis.call('HGET', KEYS[5], ref)
  if not existing then return new_purchase() end
  local record = split(existing)
  if record.user ~= user or record.kind ~= 'purchase' then
    return {'refused', 'ref_belongs_elsewhere'}
  end
  return edit_purchase(record)
end

local function refund_order(order_id)
  if order_id == '' then return nil end
  local order_ref = redis.call('HGET', KEYS[12], order_id)
  if not order_ref then return {'refused', 'order_unknown'} end
  local raw = redis.call('HGET', KEYS[5], order_ref)
  if not raw then return {'refused', 'order_unknown'} end
  local order = split(raw)
  if order.kind ~= 'purchase' or order.user ~= user or order.voided then
    return {'refused', 'order_unknown'}
  end
  if order.refunded + amount > order.amount then
    return {'refused', 'refund_exceeds_order'}
  end
  order.refunded = order.refunded + amount
  redis.call('HSET', KEYS[5], order_ref, join(order))
  return nil
end

local function linked_order(order_id)
  local order_ref = redis.call('HGET', KEYS[12], order_id)
  local raw = order_ref and redis.call('HGET', KEYS[5], order_ref)
  if not raw then return nil, nil end
  return order_ref, split(raw)
end

local function edit_refund(record)
  if record.user ~= user then return {'refused', 'ref_belongs_elsewhere'} end
  if record.voided then return {'ignored', 'refund_voided'} end
  if record.amount == amount and record.original == tonumber(ARGV[9])
      and record.currency == ARGV[8] then
    return {'unchanged', 'same_amount'}
  end
  if record.order ~= ARGV[10] then return {'refused', 'refund_order_changed'} end
  local net = field('revenue_minor') - field('refunds_minor') + record.amount
  if amount > net then return {'refused', 'refund_too_large'} end
  if record.order ~= '' then
    local order_ref, order = linked_order(record.order)
    if not order or order.voided then return {'ignored', 'order_voided'} end
    if order.refunded - record.amount + amount > order.amount then
      return {'refused', 'refund_exceeds_order'}
    end
    order.refunded = order.refunded - record.amount + amount
    redis.call('HSET', KEYS[5], order_ref, join(order))
  end
  add_money(0, amount - record.amount)
  record.amount, record.currency, record.original = amount, ARGV[8], tonumber(ARGV[9])
  redis.call('HSET', KEYS[5], ref, join(record))
  touch_customer()
  return {'recorded', 'refund_edited'}
end

local function record_refund()
  local existing = redis.call('HGET', KEYS[5], ref)
  if existing then
    local record = split(existing)
    if record.kind ~= 'refund' then return {'refused', 'ref_belongs_elsewhere'} end
    return edit_refund(record)
  end
  local net = field('revenue_minor') - field('refunds_minor')
  if redis.call('EXISTS', KEYS[3]) == 0 or amount > net then
    return {'refused', 'refund_too_large'}
  end
  local refused = refund_order(ARGV[10])
  if refused then return refused end
  local record = {kind = 'refund', user = user, amount = amount, currency = ARGV[8],
    original = tonumber(ARGV[9]), at = at, refunded = 0, voided = false,
    order = ARGV[10]}
  redis.call('HSET', KEYS[5], ref, join(record))
  add_money(0, amount)
  touch_customer()
  return {'recorded', 'refund'}
end

-- Returns true when the refund's money still counts, false when the order it
-- refunds was voided and took the refund's money with it.
local function void_refund_of_order(record)
  if record.order == '' then return true end
  local order_ref, order = linked_order(record.order)
  if not order then return true end
  if order.voided then return false end
  order.refunded = order.refunded - record.amount
  redis.call('HSET', KEYS[5], order_ref, join(order))
  return true
end

local function record_void()
  local existing = redis.call('HGET', KEYS[5], ref)
  if not existing then return {'ignored', 'ref_unknown'} end
  local record = split(existing)
  if record.user ~= user then return {'refused', 'ref_belongs_elsewhere'} end
  if record.voided then return {'unchanged', 'already_voided'} end
  record.voided = true
  redis.call('HSET', KEYS[5], ref, join(record))
  if record.kind == 'refund' then
    if void_refund_of_order(record) then add_money(0, -record.amount) end
    return {'recorded', 'refund_voided'}
  end
  redis.call('ZREM', KEYS[4], ref)
  add_purchase_count(-1)
  add_money(-record.amount, -record.refunded)
  refresh_purchase_dates()
  return {'recorded', 'purchase_voided'}
end

local handlers = {
  interaction = record_interaction, purchase = record_purchase,
  refund = record_refund, void = record_void
}
local handler = handlers[kind]
if not handler then
  return redis.error_reply('unknown event kind ' .. kind)
end

local result = handler()
if result[1] == 'refused' then
  return result
end
mark_seen()
if result[1] == 'recorded' then
  append_stream()
  refresh_ltv_score()
end
return result

/**
 * Lua scripts behind the fair dispatcher. They run atomically in Redis, so any number of bot and
 * GPU-server processes may submit, dispatch and release at once without double-dispatching.
 *
 * Keys under `base` = `<prefix>:<queue>:fair:`
 *   ring            list   users with pending rounds, in round-robin order (each at most once)
 *   pending:<user>  list   that user's pending round ids, FIFO
 *   payload         hash   round id → job payload (JSON), kept until the round is released
 *   owner           hash   round id → user, for every pending or in-flight round
 *   inflight        hash   round id → user, dispatched to BullMQ and not yet finished
 *   active          hash   user → number of in-flight rounds (the per-user concurrency count)
 *   done:<round>    string set on release, expires: a late duplicate enqueue stays a no-op
 *
 * Keys are built inside the scripts from `base` (one Redis, not Redis Cluster).
 */

/** ARGV: base, roundId, userId, payload. Returns 1 when queued, 0 for a duplicate. */
export const SUBMIT_LUA = `
local base, rid, user = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HEXISTS', base .. 'owner', rid) == 1 or redis.call('EXISTS', base .. 'done:' .. rid) == 1 then
  return 0
end
redis.call('HSET', base .. 'owner', rid, user)
redis.call('HSET', base .. 'payload', rid, ARGV[4])
if redis.call('RPUSH', base .. 'pending:' .. user, rid) == 1 then
  redis.call('RPUSH', base .. 'ring', user)
end
return 1
`;

/**
 * ARGV: base, BullMQ wait-list key, lookahead, per-user cap.
 * Moves rounds to in-flight, round-robin across users, skipping users at their cap, while fewer
 * than \`lookahead\` jobs wait in BullMQ. Keeping BullMQ's own list short is what makes the order
 * ours: workers take from it FIFO, so whatever sits there is no longer reordered.
 * Returns a flat list: roundId1, payload1, roundId2, payload2, …
 */
export const DISPATCH_LUA = `
local base, waitKey = ARGV[1], ARGV[2]
local lookahead, cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local ringKey = base .. 'ring'
local out = {}
local waiting = redis.call('LLEN', waitKey)
local skipped = 0
while waiting + #out / 2 < lookahead do
  local ringLen = redis.call('LLEN', ringKey)
  if ringLen == 0 or skipped >= ringLen then break end
  local user = redis.call('LPOP', ringKey)
  local active = tonumber(redis.call('HGET', base .. 'active', user) or '0')
  if active >= cap then
    redis.call('RPUSH', ringKey, user)
    skipped = skipped + 1
  else
    local pendingKey = base .. 'pending:' .. user
    local rid = redis.call('LPOP', pendingKey)
    if rid then
      redis.call('HINCRBY', base .. 'active', user, 1)
      redis.call('HSET', base .. 'inflight', rid, user)
      table.insert(out, rid)
      table.insert(out, redis.call('HGET', base .. 'payload', rid) or '')
      if redis.call('LLEN', pendingKey) > 0 then redis.call('RPUSH', ringKey, user) end
      skipped = 0
    end
  end
end
return out
`;

/** ARGV: base, roundId, doneTtlSeconds. Frees the round's slot; 1 when it was in flight. */
export const RELEASE_LUA = `
local base, rid = ARGV[1], ARGV[2]
local user = redis.call('HGET', base .. 'inflight', rid)
if not user then return 0 end
redis.call('HDEL', base .. 'inflight', rid)
if redis.call('HINCRBY', base .. 'active', user, -1) <= 0 then redis.call('HDEL', base .. 'active', user) end
redis.call('HDEL', base .. 'payload', rid)
redis.call('HDEL', base .. 'owner', rid)
redis.call('SET', base .. 'done:' .. rid, '1', 'EX', tonumber(ARGV[3]))
return 1
`;

/**
 * ARGV: base, roundId. Returns {state, ahead}: state is pending | dispatched | done | unknown;
 * for pending, \`ahead\` counts the pending rounds the round-robin serves first (the user's own
 * earlier rounds, and up to as many rounds of every other user, one more for users ahead in the
 * ring). Per-user caps can only make the real wait shorter for others, so this is an estimate.
 */
export const POSITION_LUA = `
local base, rid = ARGV[1], ARGV[2]
local user = redis.call('HGET', base .. 'owner', rid)
if not user then
  if redis.call('EXISTS', base .. 'done:' .. rid) == 1 then return {'done', 0} end
  return {'unknown', 0}
end
if redis.call('HEXISTS', base .. 'inflight', rid) == 1 then return {'dispatched', 0} end
local idx = redis.call('LPOS', base .. 'pending:' .. user, rid)
if not idx then return {'unknown', 0} end
local ahead = idx
local seenSelf = false
for _, u in ipairs(redis.call('LRANGE', base .. 'ring', 0, -1)) do
  if u == user then
    seenSelf = true
  else
    local take = idx
    if not seenSelf then take = idx + 1 end
    ahead = ahead + math.min(redis.call('LLEN', base .. 'pending:' .. u), take)
  end
end
return {'pending', ahead}
`;

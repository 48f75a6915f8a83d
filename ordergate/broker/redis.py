"""Wake-ups across replicas through Redis pub/sub. Messages lost while a replica is away
cost nothing: listeners re-read the log from their own cursor.

ERP stock reads are shared across replicas through one key per SKU and database (named by
its own random id): `{channel}:{database}:stock-read:SKU` is `reading:<token>` while a replica
reads it (set only if absent, expiring after the read's time limit, so a replica that died
mid-read holds nothing for long), then `read` for as long as that read is fresh; gone when it
failed or the ERP said the SKU changed. Incoming supply read with it is marked the same way
(`supply-read:SKU`). So N replicas cost the ERP one read per SKU per TTL, not N. Work one replica
does for all (the storefront's availability push) is held by `{channel}:{database}:lead:ROLE`,
its holder's token, renewed while it works and expiring when it stops. Redis trouble
is never a request's: every call gives up within the publish timeout, and a replica that cannot
ask reads for itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ordergate.broker.base import Changed, Missed, ReadElsewhere
from ordergate.broker.memory import MemoryBroker, MemoryListener

log = logging.getLogger(__name__)
CHANNEL = "ordergate:events"
READING, READ = b"reading:", b"read"
# KEYS: n SKUs' read keys, then their supply keys; ARGV[1]: the read's claim; ARGV[i + 1]:
# milliseconds read key i stays fresh (0: the read failed), ARGV[n + i + 1] its supply key (0:
# supply not read). Only a claim still this read's is changed, and only its supply set.
SETTLE = """
local n = #KEYS / 2
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    local ms, supply = tonumber(ARGV[i + 1]), tonumber(ARGV[n + i + 1])
    if ms > 0 then redis.call('SET', KEYS[i], 'read', 'PX', ms) else redis.call('DEL', KEYS[i]) end
    if supply > 0 then redis.call('SET', KEYS[n + i], 'read', 'PX', supply) end
  end
end
return 0
"""
# KEYS[1]: a role's key; ARGV[1]: the replica's token; ARGV[2]: milliseconds it holds the role.
LEAD = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not held then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""
STEP_DOWN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisBroker:
    def __init__(
        self,
        url: str,
        channel: str = CHANNEL,
        reconnect_seconds: float = 1.0,
        publish_timeout: float = 0.5,
    ) -> None:
        # Publishing runs inside a mutation's response: give up fast and let other replicas
        # catch up on their periodic re-read. Listening waits as long as it takes.
        self._publisher = Redis.from_url(
            url, socket_timeout=publish_timeout, socket_connect_timeout=publish_timeout
        )
        self._redis = Redis.from_url(url)
        self._channel = channel
        self._reads = channel  # and the database's id, once known (`keep_reads_for`)
        self._changes_channel = f"{channel}:changes"
        self._origin = uuid.uuid4().hex  # this replica's own announcements come back: skip them
        self._changed: Changed | None = None
        self._missed: Missed | None = None
        self._local = MemoryBroker()
        self._reconnect_seconds = reconnect_seconds
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._relay(), name="ordergate-redis-relay")

    async def wait_subscribed(self, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            await self._subscribed.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._local.stop()
        await self._redis.aclose()
        await self._publisher.aclose()

    async def notify(self) -> None:
        self._local.wake_all()
        try:
            await self._publisher.publish(self._channel, b"1")
        except (RedisError, OSError) as exc:
            # Other replicas fall back to their periodic re-read of the log.
            log.warning("redis publish failed: %s", exc)

    def on_change(self, changed: Changed, missed: Missed) -> None:
        self._changed, self._missed = changed, missed

    async def announce(self, stock: frozenset[str], catalog: bool) -> None:
        message = {"from": self._origin, "stock": sorted(stock), "catalog": catalog}
        try:
            await self._publisher.publish(self._changes_channel, json.dumps(message).encode())
        except (RedisError, OSError) as exc:
            # Other replicas' views expire within their maximum age (usecases.views).
            log.warning("redis publish of a change failed: %s", exc)

    def keep_reads_for(self, database: str) -> None:
        self._reads = f"{self._channel}:{database}"

    def _read_key(self, sku: str) -> str:
        return f"{self._reads}:stock-read:{sku}"

    def _supply_key(self, sku: str) -> str:
        return f"{self._reads}:supply-read:{sku}"

    async def claim_reads(self, skus: Sequence[str], token: str, hold: float) -> dict[str, ReadElsewhere]:
        claim = READING + token.encode()
        try:
            async with self._publisher.pipeline(transaction=False) as pipe:
                for sku in skus:
                    pipe.set(self._read_key(sku), claim, nx=True, px=_ms(hold) or 1, get=True)
                return await self._held(skus, await pipe.execute())
        except (RedisError, OSError) as exc:
            log.warning("redis: could not claim stock reads (reading them here): %s", exc)
            return {}

    async def reads_settled(
        self, token: str, fresh_for: Mapping[str, float], supply_fresh_for: Mapping[str, float]
    ) -> None:
        if not fresh_for:
            return
        skus = list(fresh_for)
        keys = [self._read_key(sku) for sku in skus] + [self._supply_key(sku) for sku in skus]
        args: list[bytes | int] = [
            READING + token.encode(),
            *(_ms(fresh_for[sku]) for sku in skus),
            *(_ms(supply_fresh_for.get(sku, 0.0)) for sku in skus),
        ]
        try:
            await self._publisher.eval(SETTLE, len(keys), *keys, *args)
        except (RedisError, OSError) as exc:
            # The claims expire by themselves; until then other replicas wait for this read.
            log.warning("redis: could not settle %d stock reads: %s", len(skus), exc)

    async def supply_fresh_elsewhere(self, skus: Sequence[str]) -> dict[str, float]:
        try:
            left = await self._fresh_for([self._supply_key(sku) for sku in skus])
        except (RedisError, OSError) as exc:
            log.warning("redis: could not see other replicas' supply reads: %s", exc)
            return {}
        return {sku: ms / 1000 for sku, ms in zip(skus, left.values(), strict=True) if ms > 0}

    async def reads_elsewhere(self, skus: Sequence[str]) -> dict[str, ReadElsewhere]:
        try:
            async with self._publisher.pipeline(transaction=False) as pipe:
                for sku in skus:
                    pipe.get(self._read_key(sku))
                return await self._held(skus, await pipe.execute())
        except (RedisError, OSError) as exc:
            log.warning("redis: could not see other replicas' stock reads: %s", exc)
            return {}

    async def _held(self, skus: Sequence[str], values: Sequence[object]) -> dict[str, ReadElsewhere]:
        """The SKUs whose read key (`values`, as read) says another replica holds the read."""
        read = [sku for sku, value in zip(skus, values, strict=True) if value == READ]
        left = await self._fresh_for([self._read_key(sku) for sku in read])
        held = {
            sku: ReadElsewhere(reading=True)
            for sku, value in zip(skus, values, strict=True)
            if _reading(value)
        }
        for sku, ms in zip(read, left.values(), strict=True):
            if ms > 0:
                held[sku] = ReadElsewhere(reading=False, fresh_for=ms / 1000)
        return held

    async def forget_reads(self, skus: Sequence[str]) -> None:
        if not skus:
            return
        try:
            await self._publisher.delete(
                *(self._read_key(sku) for sku in skus), *(self._supply_key(sku) for sku in skus)
            )
        except (RedisError, OSError) as exc:
            # Other replicas re-read these SKUs when their TTL ends, as without Redis.
            log.warning("redis: could not forget %d stock reads: %s", len(skus), exc)

    def _lead_key(self, role: str) -> str:
        return f"{self._reads}:lead:{role}"

    async def lead(self, role: str, token: str, hold: float) -> bool:
        try:
            return bool(await self._publisher.eval(LEAD, 1, self._lead_key(role), token, _ms(hold) or 1))
        except (RedisError, OSError) as exc:
            log.warning("redis: could not ask who does %s (doing it here): %s", role, exc)
            return True

    async def step_down(self, role: str, token: str) -> None:
        try:
            await self._publisher.eval(STEP_DOWN, 1, self._lead_key(role), token)
        except (RedisError, OSError) as exc:  # the role's time runs out by itself
            log.warning("redis: could not give up %s: %s", role, exc)

    async def _fresh_for(self, keys: Sequence[str]) -> dict[str, int]:
        """Milliseconds each key has left (negative: gone or no expiry), in the order asked."""
        if not keys:
            return {}
        async with self._publisher.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pttl(key)
            left = await pipe.execute()
        return {key: int(ms) for key, ms in zip(keys, left, strict=True)}

    def _heard(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            stock = [str(sku) for sku in message["stock"]]
            catalog, origin = bool(message["catalog"]), message["from"]
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a change announcement that is not ours to read")
            return
        if origin != self._origin and self._changed is not None:
            self._changed(stock, catalog)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[MemoryListener]:
        async with self._local.listen() as listener:
            yield listener

    async def _relay(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel, self._changes_channel)
                    self._subscribed.set()
                    # A reconnect may have missed messages: wake everyone to re-read, and
                    # forget what the read views kept.
                    self._local.wake_all()
                    if self._missed is not None:
                        self._missed()
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        if message.get("channel") == self._changes_channel.encode():
                            self._heard(message["data"])
                        else:
                            self._local.wake_all()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                log.warning("redis subscription lost (%s); retrying", exc)
                await asyncio.sleep(self._reconnect_seconds)


def _reading(value: object) -> bool:
    return isinstance(value, bytes) and value.startswith(READING)


def _ms(seconds: float) -> int:
    return max(0, int(seconds * 1000))

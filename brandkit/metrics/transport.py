"""The HTTP client a sync run uses: a small kept-alive pool, and a queue in front of it.

A sync of a thousand accounts sends a burst of requests each time their rate-limit windows open.
httpcore's connection pool re-scans every queued request against every connection whenever a
request starts or ends (O(queued x connections)), so a thousand requests queued in the pool cost
more CPU than the requests themselves, and the last of them time out waiting for a connection
(``PoolTimeout``). :class:`ShardedPool` keeps them in an asyncio semaphore instead, which costs
nothing, and lets only as many requests into the pools as they have connections. Waiting there is
not subject to the pool timeout, so a long queue delays requests but never fails them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final

import httpx

from brandkit.runtime import USER_AGENT

SHARDS: Final = 4
"""Small pools a sync spreads its requests over: httpcore asks every connection of a pool
whether its socket is still alive each time a request starts or ends, so four pools of five
cost a quarter of one pool of twenty."""
PER_SHARD: Final = 5
"""Connections per pool; 20 in all carry about 1,000 requests/s at 20 ms of latency."""


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its slot back once read to the end or closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                self._release()
                self._release = None


class ShardedPool(httpx.AsyncBaseTransport):
    """Requests spread over ``shards``, at most ``per_shard`` in each; the rest wait (FIFO).

    A request takes a slot of the shared semaphore (capacity ``per_shard x len(shards)``), then
    goes to the shard with the fewest requests in flight, which therefore always has a free
    connection: nothing ever queues inside httpcore.
    """

    def __init__(self, shards: Sequence[httpx.AsyncBaseTransport], per_shard: int) -> None:
        if not shards or per_shard < 1:
            raise ValueError("ShardedPool needs at least one shard of at least one connection")
        self._shards = list(shards)
        self._busy = [0] * len(self._shards)
        self._slots = asyncio.Semaphore(per_shard * len(self._shards))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._slots.acquire()
        index = min(range(len(self._busy)), key=self._busy.__getitem__)
        self._busy[index] += 1

        def release() -> None:
            self._busy[index] -= 1
            self._slots.release()

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def sync_http_client(
    timeout: float, *, shards: int = SHARDS, per_shard: int = PER_SHARD
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for one sync run (close it afterwards)."""
    limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
    pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
    return httpx.AsyncClient(
        transport=ShardedPool(pools, per_shard),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        headers={"User-Agent": USER_AGENT},
    )

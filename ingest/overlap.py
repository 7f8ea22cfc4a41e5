"""Embedding and upserting one file's chunks at the same time, with bounded memory.

The embedder (CPU-bound, in a worker thread) never waits for the store unless it is
`ahead` batches in front: a writer task upserts what has been embedded, merging the batches
that queued up meanwhile into one upsert (fewer, larger writes when the store is the slower
side). Progress is reported only for chunks that are stored, so it stays exact. Whichever
side fails first stops the other, and its own exception is the one raised.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

Write = Callable[[list[T]], Awaitable[None]]


async def overlapped(
    batches: AsyncIterator[list[T]], write: Write[T], stored: Callable[[int], None], ahead: int
) -> None:
    """Write every item of `batches` through `write`, at most `ahead` batches queued.

    `stored(n)` is called after each write with the number of items it stored.
    """
    queue: asyncio.Queue[list[T] | None] = asyncio.Queue(maxsize=ahead)
    writer = asyncio.create_task(_drain(queue, write, stored), name="upsert")
    try:
        async for batch in batches:
            await _put(queue, batch, writer)
        await _put(queue, None, writer)
        await writer
    finally:
        if not writer.done():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer


async def _put(
    queue: asyncio.Queue[list[T] | None], item: list[T] | None, writer: asyncio.Task[None]
) -> None:
    """Queue `item`, or raise the writer's error if it has stopped (or stops while we wait)."""
    if writer.done():
        writer.result()
    put = asyncio.ensure_future(queue.put(item))
    try:
        await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not put.done():
            put.cancel()
    if not put.cancelled():
        return
    writer.result()  # the writer failed: its error, not a hang
    raise RuntimeError("the upsert writer stopped early")


async def _drain(
    queue: asyncio.Queue[list[T] | None], write: Write[T], stored: Callable[[int], None]
) -> None:
    done = False
    while not done:
        items = await queue.get()
        if items is None:
            return
        merged = list(items)
        while not queue.empty():  # batches that queued while the last write ran
            more = queue.get_nowait()
            if more is None:
                done = True
                break
            merged.extend(more)
        await write(merged)
        stored(len(merged))

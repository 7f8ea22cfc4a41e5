"""A job's progress as server-sent events, for pages that show it live.

Workers write each file's live counters to the shared store (`JobStore.progress`), whichever
process or host they run on, so the stream reads the job there a few times a second and sends
an event only when something changed: one cheap query per open stream, nothing for the browser
to poll. The stream ends with the finished job.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from ingest.jobs import Job

CHECK_EVERY_S = 0.25
# Proxies close idle connections; a comment line now and then keeps the stream open.
KEEPALIVE_S = 15.0
FINISHED = ("done", "failed")


async def job_events(
    read: Callable[[], Awaitable[Job]],
    render: Callable[[Job], str],
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """`progress` events (the job as `render` writes it) until it finishes, then `done`."""
    last, quiet_since = "", time.monotonic()
    while True:
        job = await read()
        body = render(job)
        if job.status in FINISHED:
            yield f"event: done\ndata: {body}\n\n"
            return
        if body != last:
            last, quiet_since = body, time.monotonic()
            yield f"event: progress\ndata: {body}\n\n"
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": still working\n\n"
        if await disconnected():
            return
        await asyncio.sleep(CHECK_EVERY_S)

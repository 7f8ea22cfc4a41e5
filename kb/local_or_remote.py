"""Run a CLI action in this process, or through the server that owns the data folder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.errors import DataFolderBusy
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings

T = TypeVar("T")


async def local_or_remote(
    settings: IngestSettings,
    local: Callable[[IngestRuntime], Awaitable[T]],
    remote: Callable[[str], Awaitable[T]],
) -> T:
    """`local(runtime)` when the data folder is free, else `remote(url)` of its server.

    A folder held by a process that serves nothing raises DataFolderBusy naming its PID.
    """
    try:
        runtime = await IngestRuntime.open(settings)
    except DataFolderBusy as busy:
        if busy.server_url is None:
            raise
        return await remote(busy.server_url)
    try:
        return await local(runtime)
    finally:
        await runtime.close()

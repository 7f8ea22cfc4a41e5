"""Run a CLI action in this process, or through the server that owns the data folder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.auth import LOCAL_ADMIN
from core.auth.scope import acting_as
from core.errors import DataFolderBusy
from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from serving.settings import ServingSettings

T = TypeVar("T")


async def local_or_remote(
    settings: IngestSettings,
    local: Callable[[IngestRuntime], Awaitable[T]],
    remote: Callable[[str], Awaitable[T]],
) -> T:
    """`local(runtime)` when the data folder is free, else `remote(url)` of its server.

    A folder held by a process that serves nothing raises DataFolderBusy naming its PID.
    Locally the command acts as the local admin: it owns the data folder, files and all.
    """
    try:
        runtime = await IngestRuntime.open(settings)
    except DataFolderBusy as busy:
        if busy.server_url is None:
            raise
        return await remote(busy.server_url)
    try:
        with acting_as(LOCAL_ADMIN):
            return await local(runtime)
    finally:
        await runtime.close()


def server_headers() -> dict[str, str]:
    """What `kb` sends to a running server: its key (KB_API_KEY), when one is set."""
    key = ServingSettings().api_key
    return {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}

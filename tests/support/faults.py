"""`Faults`: an ASGI wrapper around a REAL app that fails chosen requests, and records all.

While a fault is set, every request whose method and path match it (`fnmatch` patterns: `*`
for any) is answered with that status and an OpenAI error envelope, and never reaches the app;
everything else goes through unchanged. `before(...)` runs an action once, just before the
first matching request reaches the app (another client acting at that moment). Every request
is recorded as `METHOD path?query`, so a test can check how a client paged through the API.
Nothing of the app is copied or replaced.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from fastapi.responses import JSONResponse

from core.errors import error_body


@dataclass
class Faults:
    """Wraps `app`; `fail(...)` sets a fault, `clear()` lifts them all."""

    app: Any
    faults: list[tuple[str, str, int]] = field(default_factory=list)
    hooks: list[tuple[str, str, Callable[[], Awaitable[None]]]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def fail(self, status: int, *, method: str = "*", path: str = "*") -> None:
        """Answer requests matching `method` and `path` with `status` from now on."""
        self.faults.append((method, path, status))

    def before(
        self, action: Callable[[], Awaitable[None]], *, method: str = "*", path: str = "*"
    ) -> None:
        """Await `action` once, before the next request matching `method` and `path`."""
        self.hooks.append((method, path, action))

    def clear(self) -> None:
        self.faults.clear()
        self.hooks.clear()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            query = scope.get("query_string", b"").decode()
            self.requests.append(f"{method} {path}?{query}" if query else f"{method} {path}")
            for wanted_method, wanted_path, status in self.faults:
                if fnmatchcase(method, wanted_method) and fnmatchcase(path, wanted_path):
                    body = error_body(f"injected fault: HTTP {status}", "internal_error")
                    await JSONResponse(body, status_code=status)(scope, receive, send)
                    return
            for hook in list(self.hooks):
                if fnmatchcase(method, hook[0]) and fnmatchcase(path, hook[1]):
                    self.hooks.remove(hook)
                    await hook[2]()
        await self.app(scope, receive, send)

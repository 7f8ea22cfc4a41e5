"""The caller of the running request, and every visibility snapshot restricted to it.

The request's `Principal` is set once, by the authentication dependency, in a context
variable that belongs to the request's task (and the tasks it starts, such as a streamed
response). `scoped` wraps a `Visibility` source so that each snapshot it hands out is limited
to what that caller may read: whoever holds such a source (the retriever, the chat service,
the document routes) cannot build a filter that reaches beyond the caller's grants. With no
caller set, the snapshot is limited to nothing: a code path that forgot to authenticate finds
no chunks instead of all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.auth.principal import Principal
from core.store.base import Visibility

_caller: ContextVar[Principal | None] = ContextVar("kb_caller", default=None)


def current() -> Principal | None:
    """The running request's caller, if one was authenticated."""
    return _caller.get()


def enter(principal: Principal) -> None:
    """Make `principal` the caller for the rest of the current task (one request)."""
    _caller.set(principal)


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Run a block as `principal` (the CLI working on its own data folder)."""
    token = _caller.set(principal)
    try:
        yield
    finally:
        _caller.reset(token)


def restrict(snapshot: Visibility) -> Visibility:
    """`snapshot` limited to the current caller's readable knowledge bases."""
    caller = _caller.get()
    return snapshot.restrict(frozenset() if caller is None else caller.readable)


def scoped(source: Callable[[], Visibility]) -> Callable[[], Visibility]:
    """A visibility source whose snapshots are restricted to the current caller."""

    def visibility() -> Visibility:
        return restrict(source())

    return visibility

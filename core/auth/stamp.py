"""The access stamp: one read that says whether anything a cached caller depends on changed.

Every write to users, groups, keys or grants bumps the `access` counter in the same
transaction; knowledge bases coming and going bump the registry's own clock. A process keeps
the callers it resolved (key, groups, grants) under the pair of both values, and a request
re-reads only the pair: a revoked key or a removed grant takes effect on the next request on
every replica, at the cost of one indexed read instead of three.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from core.db.schema import counters

ACCESS = "access"
REGISTRY = "registry"


def bump(conn: Connection) -> None:
    """Advance the access counter inside a write (creating it on a store that lacks it)."""
    c = counters.c
    done = conn.execute(counters.update().where(c.name == ACCESS).values(value=c.value + 1))
    if not done.rowcount:
        conn.execute(counters.insert().values(name=ACCESS, value=1))


def read(conn: Connection) -> tuple[int, int]:
    """(access, registry) as they are now."""
    rows = dict(
        conn.execute(select(counters.c.name, counters.c.value).where(
            counters.c.name.in_((ACCESS, REGISTRY))
        )).all()
    )  # fmt: skip
    return int(rows.get(ACCESS, 0)), int(rows.get(REGISTRY, 0))

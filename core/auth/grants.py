"""`Grants`: per-knowledge-base levels given to users and groups, and what they add up to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from core.auth import stamp
from core.auth.principal import Level
from core.db.engine import Database
from core.db.schema import kb_grants, utc_now
from core.errors import NotFound

SubjectKind = Literal["user", "group"]


@dataclass(frozen=True)
class Grant:
    """One grant: `level` on `kb` to a user or a group."""

    kb: str
    subject_kind: SubjectKind
    subject: str
    level: Level


class Grants:
    """Grants in the metadata store; they disappear with their knowledge base."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def set(self, kb: str, kind: SubjectKind, subject: str, level: Level) -> Grant:
        """Give `level` (replacing any earlier grant to the same subject on `kb`)."""
        g = kb_grants.c
        row = {
            "kb": kb, "subject_kind": kind, "subject": subject, "level": level.label,
            "created_at": utc_now(),
        }  # fmt: skip
        try:
            with self._db.write() as conn:
                stamp.bump(conn)
                conn.execute(
                    kb_grants.delete().where(
                        g.kb == kb, g.subject_kind == kind, g.subject == subject
                    )
                )
                conn.execute(kb_grants.insert().values(**row))
        except IntegrityError as exc:  # the foreign key: no such knowledge base
            raise NotFound(f"knowledge base {kb!r} does not exist") from exc
        return Grant(kb, kind, subject, level)

    def remove(self, kb: str, kind: SubjectKind, subject: str) -> None:
        g = kb_grants.c
        with self._db.write() as conn:
            stamp.bump(conn)
            done = conn.execute(
                kb_grants.delete().where(g.kb == kb, g.subject_kind == kind, g.subject == subject)
            )
        if not done.rowcount:
            raise NotFound(f"no grant on {kb!r} to {kind} {subject!r}")

    def of_kb(self, kb: str) -> list[Grant]:
        g = kb_grants.c
        statement = select(g.subject_kind, g.subject, g.level).where(g.kb == kb)
        with self._db.read() as conn:
            rows = conn.execute(statement.order_by(g.subject_kind, g.subject)).all()
        return [Grant(kb, kind, subject, Level.parse(level)) for kind, subject, level in rows]

    def effective(self, user: str, groups: Iterable[str]) -> dict[str, Level]:
        """The highest level per knowledge base over the user's own grants and its groups'."""
        g = kb_grants.c
        mine = and_(g.subject_kind == "user", g.subject == user)
        names = list(groups)
        theirs = and_(g.subject_kind == "group", g.subject.in_(names)) if names else None
        where = or_(mine, theirs) if theirs is not None else mine
        with self._db.read() as conn:
            rows = conn.execute(select(g.kb, g.level).where(where)).all()
        out: dict[str, Level] = {}
        for kb, label in rows:
            level = Level.parse(label)
            out[kb] = max(out.get(kb, level), level)
        return out

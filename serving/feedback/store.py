"""`FeedbackStore`: ratings in the shared metadata store, numbered in commit order.

The fine-tuning job reads them page by page (`after=ID`), so an id must never appear below
one a reader has already passed: ids come from a counter row locked by the inserting
transaction, which orders concurrent inserts from every replica.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

from core.db.engine import Database
from core.db.schema import counters, feedback
from serving.feedback.protocol import CitedPassage, FeedbackOut

logger = logging.getLogger(__name__)

COUNTER = "feedback"
LEGACY_FILE = "feedback.sqlite3"
_COLUMNS = ("id", "created_at", "model", "question", "answer", "rating", "comment", "citations")


class FeedbackStore:
    """Append-only; every write is committed before the request is answered."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        *,
        model: str | None,
        question: str,
        answer: str,
        rating: int,
        comment: str,
        citations: list[CitedPassage],
        user: str | None = None,
    ) -> FeedbackOut:
        """Store one rating; returns it with its id."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        cited = json.dumps([c.model_dump(mode="json") for c in citations], ensure_ascii=False)
        row = {
            "created_at": created, "model": model, "question": question, "answer": answer,
            "rating": rating, "comment": comment, "citations": cited, "user_name": user,
        }  # fmt: skip
        with self._db.write() as conn:
            row["id"] = self._next_id(conn)
            conn.execute(feedback.insert().values(**row))
        return _feedback(row)

    def after(self, after: int, limit: int) -> list[FeedbackOut]:
        """Ratings with ids above `after`, oldest first."""
        statement = select(feedback).where(feedback.c.id > after).order_by(feedback.c.id)
        with self._db.read() as conn:
            return [_feedback(dict(r)) for r in conn.execute(statement.limit(limit)).mappings()]

    def erase_user(self, user: str) -> int:
        """Blank the texts of `user`'s ratings and forget whose they were (erasure).

        The rating and model stay: they say nothing about the person, and removing the rows
        would renumber nothing but leave holes the fine-tuning reader could not tell apart.
        """
        blank = {"question": "", "answer": "", "comment": "", "citations": "[]", "user_name": None}
        with self._db.write() as conn:
            done = conn.execute(update(feedback).where(feedback.c.user_name == user).values(blank))
        return int(done.rowcount)

    def import_legacy(self, data_dir: Path) -> int:
        """Move ratings from the SQLite file earlier versions kept in the data folder."""
        path = data_dir / LEGACY_FILE
        if not path.exists():
            return 0
        with sqlite3.connect(path) as legacy:
            rows = legacy.execute(f"SELECT {', '.join(_COLUMNS)} FROM feedback").fetchall()
        with self._db.write() as conn:
            present = set(conn.execute(select(feedback.c.id)).scalars())
            fresh = [dict(zip(_COLUMNS, r, strict=True)) for r in rows if r[0] not in present]
            if fresh:
                conn.execute(feedback.insert(), fresh)
            top = int(conn.execute(select(func.max(feedback.c.id))).scalar() or 0)
            _set_counter(conn, max(_locked_counter(conn), top))
        path.rename(path.with_name(LEGACY_FILE + ".imported"))
        logger.info("imported %d ratings from %s", len(fresh), path)
        return len(fresh)

    def _next_id(self, conn: Connection) -> int:
        value = _locked_counter(conn) + 1
        _set_counter(conn, value)
        return value


def _locked_counter(conn: Connection) -> int:
    """The last id handed out; the row stays locked until the caller's transaction ends."""
    statement = select(counters.c.value).where(counters.c.name == COUNTER).with_for_update()
    return int(conn.execute(statement).scalar_one())


def _set_counter(conn: Connection, value: int) -> None:
    conn.execute(counters.update().where(counters.c.name == COUNTER).values(value=value))


def _feedback(row: dict[str, Any]) -> FeedbackOut:
    cited = [CitedPassage(**c) for c in json.loads(row["citations"])]
    return FeedbackOut(**{k: row[k] for k in _COLUMNS if k != "citations"}, citations=cited)

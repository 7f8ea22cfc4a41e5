"""`FeedbackStore`: ratings in their own SQLite file in the data folder."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from serving.feedback.protocol import CitedPassage, FeedbackOut

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    model TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    citations TEXT NOT NULL
);
"""


class FeedbackStore:
    """Append-only; every write is committed before the request is answered."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self._path, timeout=30)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            with conn:
                yield conn
        finally:
            conn.close()

    def add(
        self,
        *,
        model: str | None,
        question: str,
        answer: str,
        rating: int,
        comment: str,
        citations: list[CitedPassage],
    ) -> FeedbackOut:
        """Store one rating; returns it with its id."""
        created = datetime.now(UTC).isoformat(timespec="seconds")
        cited = json.dumps([c.model_dump(mode="json") for c in citations], ensure_ascii=False)
        with self._connect() as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, model, question, answer, rating, comment,"
                " citations) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (created, model, question, answer, rating, comment, cited),
            )
            row_id = int(cursor.lastrowid or 0)
        return FeedbackOut(
            id=row_id, created_at=created, model=model, question=question, answer=answer,
            rating=rating, comment=comment, citations=citations,
        )  # fmt: skip

    def after(self, after: int, limit: int) -> list[FeedbackOut]:
        """Ratings with ids above `after`, oldest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, created_at, model, question, answer, rating, comment, citations"
                " FROM feedback WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [_feedback(row) for row in rows]


def _feedback(row: tuple[Any, ...]) -> FeedbackOut:
    fields = ("id", "created_at", "model", "question", "answer", "rating", "comment")
    cited = [CitedPassage(**c) for c in json.loads(row[7])]
    return FeedbackOut(**dict(zip(fields, row[:7], strict=True)), citations=cited)

"""`ConversationStore`: conversations and their turns in the shared metadata store.

Every method takes the caller's user name and treats another user's conversation exactly as
a missing one (`NotFound`), so an id reveals nothing about who else uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.db.engine import Database
from core.db.schema import conversation_turns, conversations
from core.errors import NotFound

TITLE_CHARS = 80


@dataclass(frozen=True)
class Conversation:
    """A conversation as listed."""

    id: str
    user: str
    title: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class ConversationTurn:
    """One message of a conversation, numbered from 1."""

    seq: int
    role: str
    content: str
    created_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ConversationStore:
    """Owner-only access to conversations."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(self, conversation_id: str, user: str) -> None:
        """Check `user` may write to the id, before answering; a new id is not created yet."""
        with self._db.read() as conn:
            owner = _owner(conn, conversation_id)
        if owner is not None and owner != user:
            raise _missing(conversation_id)

    def append(self, conversation_id: str, user: str, question: str, answer: str) -> None:
        """Add a question and its answer, creating the conversation (titled by the question)."""
        try:
            self._append(conversation_id, user, question, answer)
        except IntegrityError:
            # Two first answers to a new id at once (PostgreSQL): the other created it; now
            # the row exists, is locked in turn, and its owner is checked as usual.
            self._append(conversation_id, user, question, answer)

    def _append(self, conversation_id: str, user: str, question: str, answer: str) -> None:
        now = _now()
        with self._db.write() as conn:
            owner = _owner(conn, conversation_id, lock=True)
            if owner is None:
                title = " ".join(question.split())[:TITLE_CHARS]
                conn.execute(
                    conversations.insert().values(
                        id=conversation_id, user_name=user, title=title,
                        created_at=now, updated_at=now,
                    )
                )  # fmt: skip
            elif owner != user:
                raise _missing(conversation_id)
            else:
                conn.execute(
                    update(conversations)
                    .where(conversations.c.id == conversation_id)
                    .values(updated_at=now)
                )
            last = select(func.coalesce(func.max(conversation_turns.c.seq), 0)).where(
                conversation_turns.c.conversation_id == conversation_id
            )
            seq = int(conn.execute(last).scalar_one())
            conn.execute(
                conversation_turns.insert(),
                [
                    {"conversation_id": conversation_id, "seq": seq + 1, "role": "user",
                     "content": question, "created_at": now},
                    {"conversation_id": conversation_id, "seq": seq + 2, "role": "assistant",
                     "content": answer, "created_at": now},
                ],
            )  # fmt: skip

    def of_user(self, user: str) -> list[Conversation]:
        """The user's conversations, the most recently updated first."""
        statement = (
            select(conversations)
            .where(conversations.c.user_name == user)
            .order_by(conversations.c.updated_at.desc(), conversations.c.id)
        )
        with self._db.read() as conn:
            return [_conversation(r) for r in conn.execute(statement).mappings()]

    def get(self, conversation_id: str, user: str) -> Conversation:
        """One of the user's conversations."""
        with self._db.read() as conn:
            return self._get(conn, conversation_id, user)

    def turns(self, conversation_id: str, user: str) -> list[ConversationTurn]:
        """The messages of one of the user's conversations, in order."""
        statement = (
            select(conversation_turns)
            .where(conversation_turns.c.conversation_id == conversation_id)
            .order_by(conversation_turns.c.seq)
        )
        with self._db.snapshot() as conn:
            self._get(conn, conversation_id, user)
            return [
                ConversationTurn(seq=r["seq"], role=r["role"], content=r["content"],
                                 created_at=r["created_at"])
                for r in conn.execute(statement).mappings()
            ]  # fmt: skip

    def rename(self, conversation_id: str, user: str, title: str) -> Conversation:
        """Give one of the user's conversations a new title."""
        with self._db.write() as conn:
            changed = conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.user_name == user)
                .values(title=title, updated_at=_now())
            )
            if changed.rowcount == 0:
                raise _missing(conversation_id)
            return self._get(conn, conversation_id, user)

    def delete(self, conversation_id: str, user: str) -> None:
        """Remove one of the user's conversations with its turns."""
        with self._db.write() as conn:
            if _owner(conn, conversation_id, lock=True) != user:
                raise _missing(conversation_id)
            _delete(conn, [conversation_id])

    def erase_user(self, user: str) -> int:
        """Remove every conversation of `user` (erasure); returns how many went."""
        with self._db.write() as conn:
            mine = select(conversations.c.id).where(conversations.c.user_name == user)
            ids = list(conn.execute(mine).scalars())
            _delete(conn, ids)
        return len(ids)

    def _get(self, conn: Connection, conversation_id: str, user: str) -> Conversation:
        row = (
            conn.execute(
                select(conversations).where(
                    conversations.c.id == conversation_id, conversations.c.user_name == user
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise _missing(conversation_id)
        return _conversation(row)


def _owner(conn: Connection, conversation_id: str, *, lock: bool = False) -> str | None:
    statement = select(conversations.c.user_name).where(conversations.c.id == conversation_id)
    owner: str | None = conn.execute(
        statement.with_for_update() if lock else statement
    ).scalar_one_or_none()
    return owner


def _delete(conn: Connection, ids: list[str]) -> None:
    # Turns first: SQLite enforces the cascade only with foreign_keys on, which a tool
    # opening the file by hand may not have set.
    conn.execute(delete(conversation_turns).where(conversation_turns.c.conversation_id.in_(ids)))
    conn.execute(delete(conversations).where(conversations.c.id.in_(ids)))


def _missing(conversation_id: str) -> NotFound:
    return NotFound(f"conversation {conversation_id!r} not found")


def _conversation(r: RowMapping) -> Conversation:
    return Conversation(
        id=r["id"], user=r["user_name"], title=r["title"],
        created_at=r["created_at"], updated_at=r["updated_at"],
    )  # fmt: skip

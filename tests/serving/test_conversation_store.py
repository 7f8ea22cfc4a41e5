"""`ConversationStore` and the feedback erasure on both metadata backends (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from core.db.engine import Database, database_url
from core.db.migrate import upgrade
from core.db.schema import conversation_turns
from core.errors import NotFound
from serving.conversations.store import ConversationStore
from serving.feedback.store import FeedbackStore


@pytest.fixture
def db(tmp_path, metadata_url) -> Iterator[Database]:
    database = Database(database_url(metadata_url, tmp_path))
    upgrade(database)
    yield database
    database.close()


def test_turns_are_kept_in_order_under_their_owner(db):
    store = ConversationStore(db)
    store.claim("c1", "alice")  # a new id may be claimed by anyone; nothing is stored yet
    assert store.of_user("alice") == []
    store.append("c1", "alice", "  How many   days of leave? ", "25 days [1].")
    store.append("c1", "alice", "And in the first year?", "Not in the knowledge base.")
    [listed] = store.of_user("alice")
    assert (listed.id, listed.user, listed.title) == ("c1", "alice", "How many days of leave?")
    turns = store.turns("c1", "alice")
    assert [(t.seq, t.role) for t in turns] == [
        (1, "user"), (2, "assistant"), (3, "user"), (4, "assistant")
    ]  # fmt: skip
    assert [t.content for t in turns][1:3] == ["25 days [1].", "And in the first year?"]
    store.append("c2", "alice", "Second conversation", "An answer.")
    assert [c.id for c in store.of_user("alice")] == ["c2", "c1"]  # latest update first


def test_another_users_conversation_is_the_same_404_as_a_missing_one(db):
    store = ConversationStore(db)
    store.append("c1", "alice", "q", "a")
    for attempt in (
        lambda: store.claim("c1", "bob"),
        lambda: store.append("c1", "bob", "q", "a"),
        lambda: store.get("c1", "bob"),
        lambda: store.turns("c1", "bob"),
        lambda: store.rename("c1", "bob", "mine now"),
        lambda: store.delete("c1", "bob"),
        lambda: store.get("nope", "alice"),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert store.of_user("bob") == []
    assert store.get("c1", "alice").title == "q"
    assert len(store.turns("c1", "alice")) == 2


def test_rename_delete_and_erasure(db):
    store = ConversationStore(db)
    for cid, user in (("a1", "alice"), ("a2", "alice"), ("b1", "bob")):
        store.append(cid, user, "q", "a")
    assert store.rename("a1", "alice", "Leave").title == "Leave"
    store.delete("a1", "alice")
    with pytest.raises(NotFound):
        store.turns("a1", "alice")
    assert store.erase_user("alice") == 1
    assert store.of_user("alice") == []
    assert [c.id for c in store.of_user("bob")] == ["b1"]
    with db.read() as conn:
        left = conn.execute(select(conversation_turns.c.conversation_id).distinct()).scalars()
        assert set(left) == {"b1"}
        assert conn.execute(select(func.count()).select_from(conversation_turns)).scalar() == 2


def test_feedback_erasure_blanks_only_that_users_texts(db):
    store = FeedbackStore(db)
    for user in ("alice", "bob"):
        store.add(
            model="kb/hr", question=f"{user}'s question", answer="A", rating=4,
            comment=f"{user}'s note", citations=[], user=user,
        )  # fmt: skip
    assert store.erase_user("alice") == 1
    first, second = store.after(0, 10)
    assert (first.question, first.answer, first.comment, first.rating) == ("", "", "", 4)
    assert second.question == "bob's question"
    assert store.erase_user("alice") == 0


def test_concurrent_first_answers_to_a_new_id_keep_every_turn(db):
    store = ConversationStore(db)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: store.append("new", "alice", f"q{n}", f"a{n}"), range(8)))
    turns = store.turns("new", "alice")
    assert [t.seq for t in turns] == list(range(1, 17))
    questions = {t.content for t in turns if t.role == "user"}
    assert questions == {f"q{n}" for n in range(8)}

"""Collection from the answer service's API: what is new since the cursor, and only that."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from core.errors import UpstreamError
from finetune.collect import Collector
from finetune.manifest import Cursor
from finetune.settings import AnswerServiceSettings
from tests.support.answer_standin import AnswerStandin
from tests.support.server import free_port, serve

T1 = "2026-11-20T09:00:00+00:00"
T2 = "2026-11-20T10:00:00+00:00"
T3 = "2026-11-21T08:30:00+00:00"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def passage(number: int, kind: str = "document", **extra) -> dict:
    if kind == "web":
        return {"number": number, "type": "web", "title": "News", "url": "https://example.com",
                "text": "Snippet from the web."}  # fmt: skip
    return {"number": number, "type": "document", "title": "Handbook", "source": "handbook.md",
            "page": 2, "document_id": "handbook", "kb": "hr",
            "text": f"Passage {number}: employees get 25 days.", **extra}  # fmt: skip


@pytest.fixture
def standin() -> Iterator[tuple[AnswerStandin, Collector]]:
    server = AnswerStandin()
    with serve(server.app()) as url:
        collector = Collector(AnswerServiceSettings(url=url, timeout_s=5), page_size=2)
        yield server, collector
        collector.close()


def fill(server: AnswerStandin) -> None:
    server.add_document("hr", "handbook", [(1, "Leave: 25 days."), (2, "Parental: 16 weeks.")],
                        ingested_at=T1, title="Handbook", source="handbook.md")  # fmt: skip
    server.add_document("hr", "travel", [(1, "Trains are covered.")], ingested_at=T2)
    server.add_document("it", "vpn", [(3, "Use the VPN abroad."), (4, "   ")], ingested_at=T2)
    server.add_feedback("How much leave?", "25 days [1], 16 weeks [2].", 5,
                        [passage(2), passage(1)])  # fmt: skip
    server.add_feedback("News?", "Something [1] happened [2].", 5, [passage(1), passage(2, "web")])
    server.add_feedback("Leave?", "No idea [1].", 1, [passage(1)])
    server.add_feedback("Odd", "See [2].", 5, [passage(2)])


def test_the_first_collection_takes_everything_and_the_next_nothing(standin):
    server, collector = standin
    fill(server)
    found = collector.collect(Cursor(), max_chunks=100)
    assert [(c.kb, c.document_id, c.page, c.text) for c in found.chunks] == [
        ("hr", "handbook", 1, "Leave: 25 days."), ("hr", "handbook", 2, "Parental: 16 weeks."),
        ("hr", "travel", 1, "Trains are covered."), ("it", "vpn", 3, "Use the VPN abroad."),
    ]  # fmt: skip
    handbook = found.chunks[0]
    assert (handbook.title, handbook.source) == ("Handbook", "handbook.md")
    assert (found.documents, found.documents_left) == (3, 0)
    # Web-citing and oddly numbered answers are left out; the low rating goes on to the
    # dataset builder, which counts it.
    assert (found.feedback, found.feedback_web, found.feedback_unnumbered) == (4, 1, 1)
    assert [a.rating for a in found.rated] == [5, 1]
    rated = found.rated[0]
    assert [c.text for c in rated.citations] == [
        "Passage 1: employees get 25 days.", "Passage 2: employees get 25 days."
    ]  # fmt: skip
    cited = rated.citations[0]
    assert (cited.kb, cited.document_id, cited.title, cited.source, cited.page) == (
        "hr", "handbook", "Handbook", "handbook.md", 2
    )  # fmt: skip
    assert found.cursor == Cursor(
        documents_after=at(T2), documents_seen=["hr/travel", "it/vpn"], feedback_after=4
    )
    again = collector.collect(found.cursor, max_chunks=100)
    assert again.empty
    assert again.chunks == again.rated == []
    assert again.cursor == found.cursor


def test_only_documents_ingested_or_changed_after_the_cursor_are_new(standin):
    server, collector = standin
    fill(server)
    cursor = collector.collect(Cursor(), max_chunks=100).cursor
    server.add_document("hr", "handbook", [(1, "Leave: 27 days.")], ingested_at=T3)  # changed
    server.add_document("hr", "expenses", [(1, "Claims within 30 days.")], ingested_at=T3)
    server.add_document("it", "late", [(1, "Same second as the cursor.")], ingested_at=T2)
    server.add_document("hr", "old", [(1, "Ingested long ago.")], ingested_at=T1)
    found = collector.collect(cursor, max_chunks=100)
    assert sorted(c.text for c in found.chunks) == [
        "Claims within 30 days.", "Leave: 27 days.", "Same second as the cursor."
    ]  # fmt: skip
    assert found.cursor.documents_after == at(T3)
    assert found.cursor.documents_seen == ["hr/expenses", "hr/handbook"]
    assert found.feedback == 0
    assert found.cursor.feedback_after == cursor.feedback_after == 4


def test_ratings_are_read_page_by_page(standin):
    server, collector = standin
    for number in range(5):
        server.add_feedback(f"Question {number}?", "Answer [1].", 5, [passage(1)])
    found = collector.collect(Cursor(feedback_after=0), max_chunks=10)
    assert [a.question for a in found.rated] == [f"Question {n}?" for n in range(5)]
    assert found.cursor.feedback_after == 5
    pages = [r for r in server.requests if r.startswith("GET /v1/feedback")]
    assert pages == [
        "GET /v1/feedback?after=0&limit=2", "GET /v1/feedback?after=2&limit=2",
        "GET /v1/feedback?after=4&limit=2", "GET /v1/feedback?after=5&limit=2",
    ]  # fmt: skip
    server.add_feedback("Later?", "Answer [1].", 4, [passage(1)])
    later = collector.collect(found.cursor, max_chunks=10)
    assert [a.question for a in later.rated] == ["Later?"]


def test_a_backlog_drains_over_several_runs(standin):
    server, collector = standin
    for number in range(5):
        chunks = [(1, f"Doc {number} chunk {i}.") for i in range(3)]
        server.add_document("kb", f"d{number}", chunks, ingested_at=f"2026-11-2{number}T00:00:00Z")
    cursor, taken = Cursor(), []
    for _ in range(4):
        found = collector.collect(cursor, max_chunks=7)
        taken.append((found.documents, found.documents_left, len(found.chunks)))
        cursor = found.cursor
    assert taken == [(2, 3, 6), (2, 1, 6), (1, 0, 3), (0, 0, 0)]
    # One document larger than the limit is still taken, alone.
    big_at, small_at = "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"
    server.add_document("kb", "big", [(1, f"Big {i}.") for i in range(9)], ingested_at=big_at)
    server.add_document("kb", "small", [(1, "Small.")], ingested_at=small_at)
    big = collector.collect(cursor, max_chunks=7)
    assert (big.documents, big.documents_left, len(big.chunks)) == (1, 1, 9)


def test_a_document_deleted_since_it_was_listed_is_skipped(standin):
    server, collector = standin
    server.add_document("hr", "kept", [(1, "Kept.")], ingested_at=T1)
    server.add_document("hr", "deleted", [(1, "Deleted.")], ingested_at=T2).gone = True
    found = collector.collect(Cursor(), max_chunks=10)
    assert [c.text for c in found.chunks] == ["Kept."]
    assert found.cursor.documents_after == at(T2)


def test_failures_name_the_service_and_the_reason(standin):
    server, collector = standin
    server.status = 503
    with pytest.raises(UpstreamError, match=r"/v1/knowledge-bases: HTTP 503: .*stand-in failure"):
        collector.collect(Cursor(), max_chunks=10)
    nobody = Collector(AnswerServiceSettings(url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(UpstreamError, match=r"answer service at http://127\.0\.0\.1:\d+/v1/"):
        nobody.collect(Cursor(), max_chunks=10)
    nobody.close()


def test_an_unexpected_answer_is_an_upstream_error():
    app = FastAPI()

    @app.get("/v1/knowledge-bases")
    async def wrong() -> dict:
        return {"items": []}

    with serve(app) as url:
        collector = Collector(AnswerServiceSettings(url=url))
        with pytest.raises(UpstreamError, match="unexpected answer"):
            collector.collect(Cursor(), max_chunks=10)
        collector.close()


def test_an_answer_service_that_requires_keys_gets_the_configured_one():
    from finetune.publish import AliasClient

    server = AnswerStandin(api_key="sk-finetune")
    fill(server)
    with serve(server.app()) as url:
        keyed = AnswerServiceSettings(url=url, timeout_s=5, api_key="sk-finetune")
        collector, alias = Collector(keyed), AliasClient(keyed)
        try:
            assert collector.collect(Cursor(), max_chunks=100).chunks
            assert alias.set("kb-lora-v0001").model == "kb-lora-v0001"
        finally:
            collector.close()
            alias.close()
        keyless = Collector(AnswerServiceSettings(url=url, timeout_s=5))
        try:
            with pytest.raises(UpstreamError, match="401"):
                keyless.collect(Cursor(), max_chunks=100)
        finally:
            keyless.close()

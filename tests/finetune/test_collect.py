"""Collection from the REAL answer service's API: what is new since the cursor, and only that.

One app serves the module. Each test starts with no knowledge base (`fresh` deletes them) and
from the ratings already stored (`start`): ratings cannot be deleted through the API. Documents
are ingested for real, each upload in a later second than the one before, so their order is
known; where a test needs two documents in one second it names the cursor itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from core.auth.directory import Directory
from core.auth.settings import AuthSettings
from core.db.engine import Database, database_url
from core.db.migrate import upgrade
from core.errors import UpstreamError
from finetune.collect import Collector
from finetune.manifest import Cursor
from finetune.settings import AnswerServiceSettings
from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.finetune.conftest import Servers
from tests.support.answer_service import AnswerService, instant
from tests.support.documents import text_pdf
from tests.support.server import free_port, serve

LEAVE = "Employees get 25 days of paid annual leave."
PARENTAL = "Parents get 16 weeks of paid parental leave."
MORE_LEAVE = "Employees get 27 days of paid annual leave."
ASK_LEAVE = "How many days of annual leave do employees get?"
ASK_PARENTAL = "How many weeks of parental leave do parents get?"
WEB = {"type": "web", "number": 2, "title": "News", "url": "https://example.com",
       "snippet": "Snippet from the web.", "score": 0.5, "engines": ["brave"]}  # fmt: skip


@pytest.fixture
def service(fresh: Servers) -> Iterator[tuple[AnswerService, Collector, Cursor]]:
    """The answer app, a collector reading it two items a page, and where this test starts."""
    answers = fresh.answers
    collector = Collector(AnswerServiceSettings(url=answers.url, timeout_s=30), page_size=2)
    yield answers, collector, Cursor(feedback_after=answers.last_feedback_id())
    collector.close()


def key(document: dict[str, Any]) -> str:
    return f"{document['kb']}/{document['id']}"


def newest(documents: list[dict[str, Any]]) -> tuple[dt.datetime, list[str]]:
    """Where a cursor ends after taking `documents`: the latest time and what was taken at it."""
    last = max(instant(d) for d in documents)
    return last, sorted(key(d) for d in documents if instant(d) == last)


def sections(name: str, count: int) -> str:
    """Markdown that the real chunker cuts into exactly `count` chunks: one per section."""
    return "\n\n".join(
        f"{'#' if i == 0 else '##'} {name} part {i}\n\n{name}, part {i}: a paragraph of its own."
        for i in range(count)
    )


@dataclass
class Filled:
    hr: str
    it: str
    handbook: dict[str, Any]
    travel: dict[str, Any]
    vpn: dict[str, Any]


def fill(answers: AnswerService, folder: Path) -> Filled:
    """Three documents in two knowledge bases, and four ratings of real answers."""
    hr, it = answers.create_kb("hr"), answers.create_kb("it")
    pdf = text_pdf(folder / "handbook.pdf", [[LEAVE], [PARENTAL]],
                   title="Handbook")  # fmt: skip
    (handbook,) = answers.upload(hr, {"handbook.pdf": pdf})
    (travel,) = answers.upload(hr, {"travel.txt": "Trains are covered."})
    (vpn,) = answers.upload(it, {"vpn.txt": "Use the VPN abroad."})
    leave = {**answers.citation(hr, ASK_LEAVE, "handbook.pdf"), "number": 1}
    parental = answers.citation(hr, ASK_PARENTAL, "handbook.pdf", 2)
    answers.rate("How much leave?", "25 days [1], 16 weeks [2].", 5,
                 [{**parental, "number": 2}, leave])  # fmt: skip
    answers.rate("News?", "Something [1] happened [2].", 5, [leave, WEB])
    answers.rate("Leave?", "No idea [1].", 1, [leave])
    answers.rate("Odd", "See [2].", 5, [{**leave, "number": 2}])
    return Filled(hr, it, handbook, travel, vpn)


def test_the_first_collection_takes_everything_and_the_next_nothing(service, tmp_path):
    answers, collector, start = service
    filled = fill(answers, tmp_path)
    hr, it, book = filled.hr, filled.it, filled.handbook["id"]
    found = collector.collect(start, max_chunks=100)
    assert [(c.kb, c.document_id, c.page, c.text) for c in found.chunks] == [
        (hr, book, 1, LEAVE), (hr, book, 2, PARENTAL),
        (hr, filled.travel["id"], 1, "Trains are covered."),
        (it, filled.vpn["id"], 1, "Use the VPN abroad."),
    ]  # fmt: skip
    handbook = found.chunks[0]
    assert (handbook.title, handbook.source) == ("Handbook", "handbook.pdf")
    assert (found.documents, found.documents_left) == (3, 0)
    # Web-citing and oddly numbered answers are left out; the low rating goes on to the
    # dataset builder, which counts it.
    assert (found.feedback, found.feedback_web, found.feedback_unnumbered) == (4, 1, 1)
    assert [a.rating for a in found.rated] == [5, 1]
    rated = found.rated[0]
    # Sorted by number, each with the whole passage the service read back from its index.
    assert [c.text for c in rated.citations] == [LEAVE, PARENTAL]
    cited = rated.citations[0]
    assert (cited.kb, cited.document_id, cited.title, cited.source, cited.page) == (
        hr, book, "Handbook", "handbook.pdf", 1
    )  # fmt: skip
    assert found.cursor == Cursor(
        documents_after=instant(filled.vpn), documents_seen=[key(filled.vpn)],
        feedback_after=start.feedback_after + 4,
    )  # fmt: skip
    again = collector.collect(found.cursor, max_chunks=100)
    assert again.empty
    assert again.chunks == again.rated == []
    assert again.cursor == found.cursor


def test_only_documents_ingested_or_changed_after_the_cursor_are_new(service, tmp_path):
    answers, collector, start = service
    filled = fill(answers, tmp_path)
    cursor = collector.collect(start, max_chunks=100).cursor
    changed = text_pdf(tmp_path / "changed.pdf", [[MORE_LEAVE]], title="Handbook")
    handbook, expenses = answers.upload(
        filled.hr, {"handbook.pdf": changed, "expenses.txt": "Claims within 30 days."}
    )
    assert handbook["id"] == filled.handbook["id"]  # the same document, re-ingested
    # Uploaded again unchanged: not re-ingested, it keeps its time from before the cursor.
    (travel,) = answers.upload(filled.hr, {"travel.txt": "Trains are covered."})
    assert travel["ingested_at"] == filled.travel["ingested_at"]
    found = collector.collect(cursor, max_chunks=100)
    assert sorted(c.text for c in found.chunks) == ["Claims within 30 days.", MORE_LEAVE]
    after, seen = newest([handbook, expenses])
    assert (found.cursor.documents_after, found.cursor.documents_seen) == (after, seen)
    assert found.feedback == 0
    assert found.cursor.feedback_after == cursor.feedback_after == start.feedback_after + 4
    # A document ingested in the cursor's own second is new unless the cursor saw it.
    vpn_second = cursor.model_copy(update={"documents_seen": []})
    assert vpn_second.documents_after == instant(filled.vpn)
    late = collector.collect(vpn_second, max_chunks=100)
    assert sorted(c.text for c in late.chunks) == [
        "Claims within 30 days.", MORE_LEAVE, "Use the VPN abroad."
    ]  # fmt: skip


def test_ratings_are_read_page_by_page(service):
    answers, collector, start = service
    hr = answers.create_kb("hr")
    answers.upload(hr, {"leave.txt": LEAVE})
    leave = answers.citation(hr, ASK_LEAVE, "leave.txt")
    for number in range(5):
        answers.rate(f"Question {number}?", "Answer [1].", 5, [leave])
    answers.faults.requests.clear()
    found = collector.collect(start, max_chunks=10)
    assert [a.question for a in found.rated] == [f"Question {n}?" for n in range(5)]
    first = start.feedback_after
    assert found.cursor.feedback_after == first + 5
    pages = [r for r in answers.faults.requests if r.startswith("GET /v1/feedback")]
    assert pages == [f"GET /v1/feedback?after={first + n}&limit=2" for n in (0, 2, 4, 5)]
    answers.rate("Later?", "Answer [1].", 4, [leave])
    later = collector.collect(found.cursor, max_chunks=10)
    assert [a.question for a in later.rated] == ["Later?"]


def test_a_backlog_drains_over_several_runs(service):
    answers, collector, start = service
    kb = answers.create_kb("kb")
    documents = answers.upload(kb, {f"d{n}.md": sections(f"Doc {n}", 3) for n in range(5)})
    assert [d["chunks"] for d in documents] == [3] * 5
    cursor, taken = start, []
    for _ in range(4):
        found = collector.collect(cursor, max_chunks=7)
        taken.append((found.documents, found.documents_left, len(found.chunks)))
        cursor = found.cursor
    assert taken == [(2, 3, 6), (2, 1, 6), (1, 0, 3), (0, 0, 0)]
    # One document larger than the limit is still taken, alone.
    (big,) = answers.upload(kb, {"big.md": sections("Big", 9)})
    (small,) = answers.upload(kb, {"small.md": sections("Small", 1)})
    assert (big["chunks"], small["chunks"]) == (9, 1)
    drained = collector.collect(cursor, max_chunks=7)
    assert (drained.documents, drained.documents_left, len(drained.chunks)) == (1, 1, 9)


def test_a_document_deleted_since_it_was_listed_is_skipped(service):
    answers, collector, start = service
    hr = answers.create_kb("hr")
    (kept,) = answers.upload(hr, {"kept.txt": "Kept."})
    (deleted,) = answers.upload(hr, {"deleted.txt": "Deleted."})
    chunks = f"/v1/knowledge-bases/{hr}/documents/{deleted['id']}/chunks"
    # Another client deletes it after the collector listed it, before it reads its chunks.
    answers.faults.before(lambda: answers.delete_document(hr, deleted["id"]), path=chunks)
    found = collector.collect(start, max_chunks=10)
    assert [c.text for c in found.chunks] == ["Kept."]
    assert found.cursor.documents_after == instant(deleted)
    assert [d["id"] for d in answers.documents(hr)] == [kept["id"]]
    assert f"GET {chunks}" in answers.faults.requests


def test_failures_name_the_service_and_the_reason(service):
    answers, collector, start = service
    answers.faults.fail(503)
    with pytest.raises(UpstreamError, match=r"/v1/knowledge-bases: HTTP 503: .*injected fault"):
        collector.collect(start, max_chunks=10)
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


def test_an_answer_service_that_requires_keys_gets_the_configured_one(tmp_path, embedder):
    from finetune.publish import AliasClient

    data = tmp_path / "data"
    data.mkdir()
    db = Database(database_url(None, data))
    upgrade(db)
    directory = Directory(db)
    directory.add_user("trainer", is_admin=True)
    key = directory.create_key("trainer", ["read", "ingest", "admin"]).token
    db.close()
    port = free_port()
    settings = ServingSettings(port=port, auth=AuthSettings(enabled=True))
    app = create_app(settings, IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port) as url:
        keyed = AnswerServiceSettings(url=url, timeout_s=30, api_key=key)
        collector, alias = Collector(keyed), AliasClient(keyed)
        try:
            assert collector.collect(Cursor(), max_chunks=100).chunks == []
            assert alias.set("kb-lora-v0001").model == "kb-lora-v0001"
        finally:
            collector.close()
            alias.close()
        keyless = Collector(AnswerServiceSettings(url=url, timeout_s=30))
        try:
            with pytest.raises(UpstreamError, match="401"):
                keyless.collect(Cursor(), max_chunks=100)
        finally:
            keyless.close()

"""The metadata store's contract, run on SQLite and on the machine's real PostgreSQL.

Registry (knowledge bases, documents, generations, the visibility snapshot), job queue
(claims, leases, fencing) and the shared values of the answer service (feedback, model
alias). Two `Database` objects on the same URL stand for two processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from core.db.engine import Database, database_url
from core.db.migrate import upgrade
from core.db.schema import job_files as job_files_table
from core.db.schema import meta
from core.errors import ConfigurationError, Conflict, LeaseLost, NotFound
from ingest.jobs import MAX_ATTEMPTS, JobFile, JobStore
from ingest.outcome import FileResult, Outcome
from ingest.registry import DocumentRecord, Registry, document_id
from serving.feedback.protocol import CitedPassage
from serving.feedback.store import FeedbackStore
from serving.model_alias import ModelAlias


@pytest.fixture
def databases(metadata_url: str | None, tmp_path: Path) -> Iterator[tuple[Database, Database]]:
    url = database_url(metadata_url, tmp_path)
    first, second = Database(url), Database(url)
    upgrade(first)
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def db(databases: tuple[Database, Database]) -> Database:
    return databases[0]


def record(kb: str, source: str, generation: str, chunks: int = 3) -> DocumentRecord:
    return DocumentRecord(
        id=document_id(kb, source), kb=kb, source=source, title=source, pages=1,
        chunks=chunks, sha256=f"sha-{generation}", size_bytes=10, generation=generation,
        parser="text", ingested_at="2026-11-29T00:00:00+00:00",
    )  # fmt: skip


def files(n: int) -> list[JobFile]:
    return [JobFile(i, f"f{i}.txt", f"/nowhere/f{i}.txt", 10, upload=False) for i in range(n)]


class TestRegistry:
    def test_knowledge_bases_are_created_listed_and_deleted(self, db):
        registry = Registry(db)
        registry.create_kb("hr", "people")
        with pytest.raises(Conflict):
            registry.create_kb("hr")
        assert [kb.name for kb in registry.list_kbs()] == ["hr"]
        assert registry.get_kb("hr").description == "people"
        registry.delete_kb("hr")
        with pytest.raises(NotFound):
            registry.get_kb("hr")

    def test_a_generation_is_hidden_until_committed_then_replaces_the_old(self, db):
        registry = Registry(db)
        registry.create_kb("hr")
        registry.stage("g1", "hr", document_id("hr", "a.txt"))
        assert "g1" in registry.visibility().hidden
        assert registry.commit(record("hr", "a.txt", "g1")) is None
        assert "g1" not in registry.visibility().hidden
        clock = registry.visibility().clock
        seq = registry.stage("g2", "hr", document_id("hr", "a.txt"))
        assert clock is not None
        assert seq > clock
        assert registry.commit(record("hr", "a.txt", "g2")) == "g1"
        visible = registry.visibility()
        assert "g1" in visible.hidden
        assert "g2" not in visible.hidden
        found = registry.find_document("hr", "a.txt")
        assert found is not None
        assert found.generation == "g2"

    def test_another_process_sees_a_commit_at_once(self, databases):
        mine, theirs = Registry(databases[0]), Registry(databases[1])
        mine.create_kb("hr")
        before = theirs.visibility()
        mine.stage("g1", "hr", document_id("hr", "a.txt"))
        staged = theirs.visibility()
        assert "g1" in staged.hidden
        assert (staged.clock or 0) > (before.clock or 0)
        mine.commit(record("hr", "a.txt", "g1"))
        live = theirs.visibility()
        assert "g1" not in live.hidden
        assert live.versions["hr"] > before.versions["hr"]

    def test_chunks_staged_after_a_snapshot_are_beyond_its_clock(self, databases):
        reader, writer = Registry(databases[0]), Registry(databases[1])
        writer.create_kb("hr")
        snapshot = reader.visibility()
        seq = writer.stage("g1", "hr", document_id("hr", "a.txt"))
        # The reader's filter excludes this generation by `seq`, though its hidden set is old.
        assert "g1" not in snapshot.hidden
        assert seq > (snapshot.clock or 0)

    def test_a_retired_generation_can_never_go_live(self, db):
        registry = Registry(db)
        registry.create_kb("hr")
        registry.stage("g1", "hr", document_id("hr", "a.txt"), task="dead-job/0")
        assert registry.retire_orphans() == 1
        with pytest.raises(LeaseLost):
            registry.commit(record("hr", "a.txt", "g1"))
        assert registry.find_document("hr", "a.txt") is None

    def test_content_versions_move_on_commit_and_delete(self, db):
        registry = Registry(db)
        registry.create_kb("hr")
        registry.create_kb("it")
        versions = registry.visibility().versions
        registry.stage("g1", "hr", document_id("hr", "a.txt"))
        registry.commit(record("hr", "a.txt", "g1"))
        after = registry.visibility().versions
        assert after["hr"] > versions["hr"]
        assert after["it"] == versions["it"]
        registry.delete_document("hr", document_id("hr", "a.txt"))
        assert registry.visibility().versions["hr"] > after["hr"]

    def test_each_knowledge_base_keeps_the_tokenizer_it_was_first_encoded_with(self, databases):
        first, other_process = Registry(databases[0]), Registry(databases[1])
        first.create_kb("hr")
        assert first.sparse_spec("hr", "bm25-mixed-3") == "bm25-mixed-3"
        # Another process (a worker configured later with a dictionary) gets the recorded one.
        assert other_process.sparse_spec("hr", "bm25-mixed-3+words:abc") == "bm25-mixed-3"
        assert other_process.visibility().sparse == {"hr": "bm25-mixed-3"}
        digest = other_process.save_words(["检索增强生成", "向量库", "向量库"])
        assert first.load_words(digest) == sorted(["检索增强生成", "向量库"])
        first.delete_kb("hr")
        first.create_kb("hr")
        assert first.sparse_spec("hr", "bm25-mixed-4") == "bm25-mixed-4", "a new base, anew"

    def test_an_index_from_before_per_base_tokenizers_keeps_its_tokenizer(self, db):
        registry = Registry(db)
        registry.create_kb("hr")
        registry.create_kb("empty")
        registry.stage("g1", "hr", document_id("hr", "a.txt"))
        registry.commit(record("hr", "a.txt", "g1"))
        with db.write() as conn:
            conn.execute(meta.insert().values(key="index", value="MiniLM (384d) + bm25-cjk-2"))
        registry.check_index("MiniLM (384d)")
        assert registry.visibility().sparse == {"hr": "bm25-cjk-2"}
        assert registry.sparse_spec("empty", "bm25-mixed-3") == "bm25-mixed-3"
        registry.check_index("MiniLM (384d)")  # opened again: nothing changes
        assert registry.visibility().sparse == {"hr": "bm25-cjk-2", "empty": "bm25-mixed-3"}
        with pytest.raises(ConfigurationError, match="built with MiniLM"):
            registry.check_index("e5 (384d)")


class TestJobs:
    def test_a_file_is_claimed_by_one_worker_at_a_time(self, databases):
        registry = Registry(databases[0])
        registry.create_kb("hr")
        queue = [JobStore(d, Registry(d)) for d in databases]
        created = queue[0].create("hr", files(1))
        first = queue[0].claim("w1", lease_s=30)
        assert first is not None
        assert (first.job_id, first.position) == (created.id, 0)
        assert queue[1].claim("w2", lease_s=30) is None
        assert queue[1].get(created.id).files[0].lease_owner == "w1"
        assert queue[1].get(created.id).status == "running"

    def test_the_files_of_one_job_spread_over_workers(self, databases):
        Registry(databases[0]).create_kb("hr")
        store = JobStore(databases[0], Registry(databases[0]))
        made = [store.create("hr", files(3)).id for _ in range(3)]
        created = [(job_id, i) for job_id in made for i in range(3)]
        claimed: list[tuple[str, int]] = []
        lock = threading.Lock()

        def claim(db: Database, name: str) -> None:
            queue = JobStore(db, Registry(db))
            while (lease := queue.claim(name, lease_s=30)) is not None:
                with lock:
                    claimed.append((lease.job_id, lease.position))

        threads = [
            threading.Thread(target=claim, args=(databases[i % 2], f"w{i}")) for i in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(claimed) == sorted(created)

    def test_an_expired_lease_is_taken_over_and_the_old_holder_is_fenced_out(self, db):
        registry = Registry(db)
        registry.create_kb("hr")
        queue = JobStore(db, registry)
        job = queue.create("hr", files(2))
        old = queue.claim("w1", lease_s=30)
        assert old is not None
        registry.stage("g-old", "hr", document_id("hr", "f0.txt"), task=old.task)
        with db.write() as conn:  # the holder stalled past its deadline
            conn.execute(update(job_files_table).values(lease_expires=time.time() - 1))
        new = queue.claim("w2", lease_s=30)
        assert new is not None
        assert (new.job_id, new.position) == (job.id, 0)
        assert new.token != old.token
        # What the old holder left staged was retired by the claim...
        assert "g-old" in registry.visibility().hidden
        with pytest.raises(LeaseLost):
            registry.commit(record("hr", "f0.txt", "g-old"))
        # ...and it can no longer write about the file.
        result = FileResult("f0.txt", Outcome.FAILED, reason="corrupt", message="x")
        with pytest.raises(LeaseLost):
            queue.record(old, result)
        assert not queue.renew(old, 30)
        assert queue.record(new, result) is False  # one file of two: the job goes on
        found = queue.get(job.id)
        assert found.files[0].outcome == "failed"
        assert found.files[0].attempts == 2
        assert found.status == "running"

    def test_the_last_outcome_closes_the_job(self, db):
        Registry(db).create_kb("hr")
        queue = JobStore(db, Registry(db))
        job = queue.create("hr", files(2))
        leases = [queue.claim("w1", lease_s=30), queue.claim("w2", lease_s=30)]
        assert all(lease is not None for lease in leases)
        assert queue.renew(leases[0], 30)  # type: ignore[arg-type]
        queue.progress(leases[0], pages=3, chunks=7)  # type: ignore[arg-type]
        assert (queue.get(job.id).files[0].pages, queue.get(job.id).files[0].chunks) == (3, 7)
        ok = FileResult("f.txt", Outcome.UNCHANGED)
        assert queue.record(leases[1], ok) is False  # type: ignore[arg-type]
        assert queue.record(leases[0], ok) is True  # type: ignore[arg-type]
        assert queue.get(job.id).status == "done"
        assert queue.claim("w3", lease_s=30) is None
        assert queue.backlog() == 0

    def test_a_file_that_keeps_killing_workers_is_given_up(self, db):
        Registry(db).create_kb("hr")
        queue = JobStore(db, Registry(db))
        job = queue.create("hr", files(2))
        for _ in range(MAX_ATTEMPTS):
            assert queue.claim("doomed", lease_s=30) is not None
            with db.write() as conn:  # the worker died with it
                conn.execute(update(job_files_table).values(lease_expires=time.time() - 1))
        lease = queue.claim("w", lease_s=30)
        assert lease is not None
        assert lease.position == 1, "the poison file was skipped"
        first = queue.get(job.id).files[0]
        assert (first.outcome, first.reason) == ("failed", "worker_died")

    def test_a_job_kept_for_one_process_is_claimed_by_no_other(self, db):
        Registry(db).create_kb("hr")
        queue = JobStore(db, Registry(db))
        job = queue.create("hr", files(1), claimable_by="cli")
        assert queue.claim("worker", lease_s=30) is None
        lease = queue.claim("cli", lease_s=30, job_id=job.id)
        assert lease is not None


class TestAnswerServiceState:
    def test_ratings_are_numbered_in_commit_order_across_processes(self, databases):
        stores = [FeedbackStore(d) for d in databases]
        passage = CitedPassage(number=1, type="web", title="t", url="https://e.org", text="x")

        def rate(i: int) -> None:
            stores[i % 2].add(
                model=None, question=f"q{i}", answer="a", rating=5, comment="",
                citations=[passage],
            )  # fmt: skip

        threads = [threading.Thread(target=rate, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        everything = stores[0].after(0, 100)
        assert [f.id for f in everything] == list(range(1, 11))
        assert {f.question for f in everything} == {f"q{i}" for i in range(10)}
        later = stores[1].after(8, 100)
        assert [f.id for f in later] == [9, 10]
        assert later[0].citations == [passage]

    def test_the_model_alias_is_the_same_for_every_replica(self, databases):
        first, second = ModelAlias(databases[0], "base"), ModelAlias(databases[1], "base")
        assert second.model == "base"
        first.point("kb-lora-v0002")
        assert second.model == "kb-lora-v0002"
        second.point(None)
        assert first.model == "base"

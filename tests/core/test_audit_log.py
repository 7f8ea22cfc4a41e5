"""The audit chain on both metadata backends: tampering with SQL is found, and where.

Records are changed, deleted and reordered straight in the real database, as someone with
database access would; `verify` must name the record.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from core.audit import AuditEntry, AuditLog, AuditQuery, AuditSettings, verify
from core.audit.log import audit_now
from core.db.engine import Database, database_url
from core.db.migrate import upgrade


@pytest.fixture
def db(tmp_path, metadata_url) -> Iterator[Database]:
    database = Database(database_url(metadata_url, tmp_path))
    upgrade(database)
    yield database
    database.close()


def entry(n: int, **fields) -> AuditEntry:
    values = {
        "actor_user": f"user{n % 3}", "client": "10.0.0.7", "method": "POST",
        "route": "/v1/chat/completions", "kbs": ["hr", "财务"] if n % 2 else ["hr"],
        "question_hash": f"{n:064x}", "retrieved": [f"doc{n}#0", f"doc{n}#1"],
        "cited": [f"doc{n}#1"], "model": "kb/hr", "outcome": "ok", "status": 200,
        "latency_ms": 12.3456 + n,
    }  # fmt: skip
    return AuditEntry(**{**values, **fields})


def filled(db: Database, count: int = 8, **settings) -> AuditLog:
    log = AuditLog(db, AuditSettings(**settings))
    for n in range(1, count + 1):
        log.append(entry(n))
    return log


def sql(db: Database, statement: str, **params) -> None:
    with db.write() as conn:
        conn.execute(text(statement), params)


def problems(db: Database) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in verify(db).problems]


def test_an_untouched_chain_verifies(db):
    log = filled(db)
    report = verify(db)
    assert report.ok, report.problems
    assert (report.records, report.first_seq, report.last_seq) == (8, 1, 8)
    records = log.search(AuditQuery())
    assert [r.seq for r in records] == list(range(1, 9))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert records[0].latency_ms == pytest.approx(13.346)


def test_an_edited_record_is_found(db):
    filled(db)
    sql(db, "UPDATE audit_log SET actor_user = 'someone-else' WHERE seq = 5")
    assert problems(db) == [(5, "edited")]


def test_an_edited_list_is_found(db):
    filled(db)
    sql(db, """UPDATE audit_log SET cited = '[]' WHERE seq = 2""")
    assert problems(db) == [(2, "edited")]


def test_a_deleted_record_is_found(db):
    filled(db)
    sql(db, "DELETE FROM audit_log WHERE seq = 5")
    report = verify(db)
    assert [(p.seq, p.kind) for p in report.problems] == [(6, "missing")]
    assert "#5..#5" in report.problems[0].message


def test_reordered_records_are_found(db):
    filled(db)
    # Swap records 3 and 4 by their numbers, as a reordering UPDATE would.
    sql(db, "UPDATE audit_log SET seq = -1 WHERE seq = 3")
    sql(db, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    sql(db, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    assert problems(db) == [(3, "reordered"), (4, "reordered"), (5, "reordered")]


def test_a_rewritten_record_with_a_fresh_hash_still_breaks_the_chain(db):
    log = filled(db)
    forged = log.search(AuditQuery(after=3, limit=1))[0]
    # Someone who knows the hash rule rewrites record 4 and recomputes its own hash.
    from core.audit.record import chain_hash

    forged.actor_user = "nobody"
    new_hash = chain_hash(forged.prev_hash, forged.at, forged)
    sql(db, "UPDATE audit_log SET actor_user = 'nobody', hash = :h WHERE seq = 4", h=new_hash)
    assert problems(db) == [(5, "reordered")]


def test_cut_off_last_records_are_found(db):
    filled(db)
    sql(db, "DELETE FROM audit_log WHERE seq >= 7")
    assert problems(db) == [(8, "truncated")]


def test_checkpoints_are_chained_records(db):
    log = filled(db, count=7, checkpoint_every=3)
    checkpoints = log.search(AuditQuery(kind="checkpoint"))
    # After each third record of the chain (checkpoints count as records too).
    assert [c.detail["through_seq"] for c in checkpoints] == [3, 6, 9]
    assert [c.seq for c in checkpoints] == [4, 7, 10]
    assert verify(db).ok


def test_pruning_keeps_the_rest_verifiable(db):
    log = filled(db, count=6)
    cutoff = log.search(AuditQuery(after=3, limit=1))[0].at
    while audit_now() <= cutoff:  # the next records must be strictly newer than the cutoff
        pass
    for n in (7, 8):
        log.append(entry(n))
    deleted = log.prune(before=audit_now())
    assert deleted == 8
    assert verify(db).ok
    log.append(entry(9))
    anchor = log.search(AuditQuery(kind="pruned"))[0]
    assert anchor.detail["through_seq"] == 8
    assert anchor.seq == 9
    assert verify(db).ok
    # Someone deleting the anchor (the first record left) is found.
    sql(db, "DELETE FROM audit_log WHERE seq = 9")
    assert problems(db) == [(10, "missing")]


def test_pruning_by_retention_keeps_recent_records(db):
    log = filled(db, count=3)
    assert log.prune() == 0  # nothing is 180 days old
    assert log.count() == 3
    assert verify(db).ok


def test_search_by_user_kb_document_and_time(db):
    log = filled(db)
    assert [r.seq for r in log.search(AuditQuery(user="user1"))] == [1, 4, 7]
    assert [r.seq for r in log.search(AuditQuery(kb="财务"))] == [1, 3, 5, 7]
    assert [r.seq for r in log.search(AuditQuery(document="doc6"))] == [6]
    assert log.search(AuditQuery(document="doc")) == []  # whole ids only
    all_records = log.search(AuditQuery())
    since = all_records[4].at
    assert all(r.at >= since for r in log.search(AuditQuery(since=since)))
    assert log.search(AuditQuery(until="2000-01-01")) == []


def test_export_is_json_lines_of_every_record(db):
    log = filled(db)
    lines = list(log.export())
    assert len(lines) == 8
    rows = [json.loads(line) for line in lines]
    assert [r["seq"] for r in rows] == list(range(1, 9))
    assert rows[0]["kbs"] == ["hr", "财务"]


def test_concurrent_writers_build_one_chain(db, tmp_path, metadata_url):
    # Each thread has its own engine, as separate replicas would.
    replicas = [Database(database_url(metadata_url, tmp_path)) for _ in range(4)]
    errors: list[BaseException] = []

    def write(replica: Database, worker: int) -> None:
        try:
            log = AuditLog(replica, AuditSettings(checkpoint_every=7))
            for n in range(10):
                log.append(entry(n, actor_user=f"w{worker}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(r, i)) for i, r in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for replica in replicas:
        replica.close()
    assert errors == []
    report = verify(db)
    assert report.ok, report.problems
    checkpoints = AuditLog(db).search(AuditQuery(kind="checkpoint"))
    assert report.records == 40 + len(checkpoints)
    assert [c.detail["through_seq"] for c in checkpoints] == [7, 14, 21, 28, 35, 42]

"""Audit log benchmark: append latency and verify throughput, on SQLite and PostgreSQL.

Run by hand from the repository root, with PostgreSQL running:

    .venv/bin/python bench/audit.py [--records 5000] [--writers 4]

Appends `--records` request-shaped records one transaction each (as the recorder does),
first from one writer, then from `--writers` threads with their own engines (as replicas
would), and times `verify` over the whole chain. PostgreSQL gets a fresh database per run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from core.audit import AuditEntry, AuditLog, verify  # noqa: E402
from core.db.engine import Database, database_url  # noqa: E402
from core.db.migrate import upgrade  # noqa: E402

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        actor_user=f"user{n % 50}", client="10.0.0.7", method="POST",
        route="/v1/chat/completions", kbs=["hr"], question_hash=f"{n:064x}",
        retrieved=[f"doc{n % 300}#{i}" for i in range(6)], cited=[f"doc{n % 300}#1"],
        model="kb/hr", status=200, latency_ms=120.5,
    )  # fmt: skip


def run(url: str, records: int, writers: int) -> dict[str, float]:
    db = Database(url)
    upgrade(db)
    log = AuditLog(db)
    single: list[float] = []
    for n in range(records):
        started = time.perf_counter()
        log.append(entry(n))
        single.append((time.perf_counter() - started) * 1000)
    replicas = [Database(url) for _ in range(writers)]
    per_writer = records // writers

    def write(replica: Database) -> None:
        mine = AuditLog(replica)
        for n in range(per_writer):
            mine.append(entry(n))

    threads = [threading.Thread(target=write, args=(r,)) for r in replicas]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    concurrent_s = time.perf_counter() - started
    started = time.perf_counter()
    report = verify(db)
    verify_s = time.perf_counter() - started
    assert report.ok, report.problems
    for replica in replicas:
        replica.close()
    db.close()
    return {
        "append_p50_ms": statistics.median(single),
        "append_p95_ms": statistics.quantiles(single, n=20)[18],
        "concurrent_per_s": per_writer * writers / concurrent_s,
        "verify_records": report.records,
        "verify_per_s": report.records / verify_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} cores; {args.records} records")
    with tempfile.TemporaryDirectory() as folder:
        sqlite = run(database_url(None, Path(folder)), args.records, args.writers)
    name = f"kb_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        postgres = run(
            database_url(POSTGRES.rsplit("/", 1)[0] + f"/{name}", Path(".")),
            args.records,
            args.writers,
        )
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for backend, figures in (("sqlite", sqlite), ("postgresql", postgres)):
        shown = ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
        print(f"{backend}: {shown}")


if __name__ == "__main__":
    main()

"""`AuditLog`: append, search, export and prune the hash-chained audit records.

Appends are serialised by locking the head row (`SELECT ... FOR UPDATE` on PostgreSQL; on
SQLite the write transaction's `BEGIN IMMEDIATE` already admits one writer), so replicas
writing at once still build one unbroken chain. Pruning deletes a prefix of the chain and
appends a `pruned` record naming the last deleted record's number and hash: `verify` starts
from that anchor, which is itself chained, so the remaining records stay verifiable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from core.audit.record import AuditEntry, AuditQuery, AuditRecord, chain_hash
from core.audit.settings import AuditSettings
from core.db.engine import Database
from core.db.schema import audit_head, audit_log

logger = logging.getLogger(__name__)

_LISTS = ("kbs", "retrieved", "cited")


def audit_now() -> str:
    """Now as audit records store it: ISO 8601 UTC with milliseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class AuditLog:
    """The audit records of one metadata store."""

    def __init__(self, db: Database, settings: AuditSettings | None = None) -> None:
        self.db = db
        self.settings = settings or AuditSettings()

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Chain one record after the current head; returns it as stored."""
        with self.db.write() as conn:
            record = self._append(conn, entry)
            if record.seq % self.settings.checkpoint_every == 0:
                self._checkpoint(conn, record)
            return record

    def prune(self, *, before: str | None = None) -> int:
        """Delete the records older than the retention (or `before`); returns how many went."""
        days = timedelta(days=self.settings.retention_days)
        cutoff = before or (datetime.now(UTC) - days).isoformat(timespec="milliseconds")
        with self.db.write() as conn:
            _lock_head(conn)
            last = conn.execute(
                select(audit_log.c.seq, audit_log.c.hash)
                .where(audit_log.c.at < cutoff)
                .order_by(audit_log.c.seq.desc())
                .limit(1)
            ).first()
            if last is None:
                return 0
            gone = conn.execute(delete(audit_log).where(audit_log.c.seq <= last.seq)).rowcount
            anchor = {"through_seq": last.seq, "through_hash": last.hash, "deleted": gone}
            self._append(conn, AuditEntry(kind="pruned", route="retention", detail=anchor))
        logger.info("audit: pruned %d records through #%d (%s)", gone, last.seq, last.hash)
        return int(gone)

    def search(self, query: AuditQuery) -> list[AuditRecord]:
        """Records matching every filter given, oldest first."""
        statement = select(audit_log).where(audit_log.c.seq > query.after)
        if query.user:
            statement = statement.where(
                or_(
                    audit_log.c.actor_user == query.user,
                    audit_log.c.actor_key == query.user,
                    audit_log.c.actor_subject == query.user,
                )
            )
        if query.kb:
            statement = statement.where(
                audit_log.c.kbs.contains(_quoted(query.kb), autoescape=True)
            )
        if query.document:
            # Chunk ids are "<document>#<chunk>" inside JSON strings.
            # Chunk ids are "<document>#<chunk>" inside JSON strings; document routes put
            # the id in `detail`.
            needle = _quoted(query.document)[:-1] + "#"
            statement = statement.where(
                or_(
                    audit_log.c.retrieved.contains(needle, autoescape=True),
                    audit_log.c.cited.contains(needle, autoescape=True),
                    audit_log.c.detail.contains(
                        f'"document": {_quoted(query.document)}', autoescape=True
                    ),
                )
            )
        if query.since:
            statement = statement.where(audit_log.c.at >= query.since)
        if query.until:
            statement = statement.where(audit_log.c.at < query.until)
        if query.kind:
            statement = statement.where(audit_log.c.kind == query.kind)
        statement = statement.order_by(audit_log.c.seq).limit(query.limit)
        with self.db.read() as conn:
            return [record_from_row(dict(row)) for row in conn.execute(statement).mappings()]

    def export(self, query: AuditQuery | None = None) -> Iterator[str]:
        """Every matching record as one JSON line each, oldest first, read page by page."""
        query = query or AuditQuery()
        page = query.model_copy(update={"limit": 1000})
        while records := self.search(page):
            for record in records:
                yield record.model_dump_json() + "\n"
            page = page.model_copy(update={"after": records[-1].seq})

    def count(self) -> int:
        """How many records the log holds now."""
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    def _append(self, conn: Connection, entry: AuditEntry) -> AuditRecord:
        head = _lock_head(conn)
        at = audit_now()
        if entry.latency_ms is not None:
            entry = entry.model_copy(update={"latency_ms": round(entry.latency_ms, 3)})
        record = AuditRecord(
            **entry.model_dump(), seq=head.seq + 1, at=at, prev_hash=head.hash,
            hash=chain_hash(head.hash, at, entry),
        )  # fmt: skip
        conn.execute(audit_log.insert().values(**row_from_record(record)))
        conn.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=record.seq, hash=record.hash)
        )
        return record

    def _checkpoint(self, conn: Connection, last: AuditRecord) -> None:
        # Logged as well: a copy of the chain's state outside the database to compare with.
        logger.info("audit checkpoint: record #%d has hash %s", last.seq, last.hash)
        detail = {"through_seq": last.seq, "through_hash": last.hash}
        self._append(conn, AuditEntry(kind="checkpoint", route="checkpoint", detail=detail))


def _lock_head(conn: Connection) -> Any:
    return conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()


def _quoted(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def row_from_record(record: AuditRecord) -> dict[str, Any]:
    """A record as the row `audit_log` stores (lists and details as JSON text)."""
    row = record.model_dump()
    for name in (*_LISTS, "detail"):
        row[name] = json.dumps(row[name], ensure_ascii=False, sort_keys=True)
    return row


def record_from_row(row: dict[str, Any]) -> AuditRecord:
    """A stored row back as a record (whatever it now holds: `verify` judges it)."""
    for name in (*_LISTS, "detail"):
        row[name] = json.loads(row[name])
    return AuditRecord(**row)

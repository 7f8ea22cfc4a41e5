"""`verify`: walk the chain and say where it is broken, and how.

Each record must (1) hash to the hash it carries: otherwise it was edited; (2) carry the hash
of the record before it: otherwise a record was moved, inserted or removed before it; (3) be
numbered one above the record before it: otherwise records are missing. The first record must
follow the genesis hash or the latest `pruned` anchor, and the last must match the head row,
so records cut from either end show too.
"""

from __future__ import annotations

import json

from pydantic import BaseModel
from sqlalchemy import select

from core.audit.log import record_from_row
from core.audit.record import GENESIS, chain_hash
from core.db.engine import Database
from core.db.schema import audit_head, audit_log

_PAGE = 1000


class Problem(BaseModel):
    """One break in the chain, at record `seq`."""

    seq: int
    kind: str  # edited | reordered | missing | truncated
    message: str


class VerifyReport(BaseModel):
    """The result of a walk over the whole log."""

    ok: bool
    records: int
    first_seq: int | None
    last_seq: int | None
    problems: list[Problem]


def verify(db: Database) -> VerifyReport:
    """Check every record of the log against its content and its neighbours."""
    problems: list[Problem] = []
    with db.snapshot() as conn:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one()
        anchor = conn.execute(
            select(audit_log.c.detail)
            .where(audit_log.c.kind == "pruned")
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
        expected_seq, prev_hash = 1, GENESIS
        if anchor is not None:
            detail = json.loads(anchor)
            expected_seq, prev_hash = int(detail["through_seq"]) + 1, str(detail["through_hash"])
        count, first, last = 0, None, None
        after = -1
        while (
            rows := conn.execute(
                select(audit_log)
                .where(audit_log.c.seq > after)
                .order_by(audit_log.c.seq)
                .limit(_PAGE)
            )
            .mappings()
            .all()
        ):
            for row in rows:
                record = record_from_row(dict(row))
                if record.seq != expected_seq:
                    problems.append(Problem(
                        seq=record.seq, kind="missing",
                        message=f"records #{expected_seq}..#{record.seq - 1} are missing "
                        f"before record #{record.seq} (deleted)",
                    ))  # fmt: skip
                elif record.prev_hash != prev_hash:
                    problems.append(Problem(
                        seq=record.seq, kind="reordered",
                        message=f"record #{record.seq} does not follow the record before it "
                        "(moved, inserted, or the one before it replaced)",
                    ))  # fmt: skip
                if chain_hash(record.prev_hash, record.at, record) != record.hash:
                    problems.append(Problem(
                        seq=record.seq, kind="edited",
                        message=f"record #{record.seq} does not match its hash (edited)",
                    ))  # fmt: skip
                expected_seq, prev_hash = record.seq + 1, record.hash
                first = record.seq if first is None else first
                last, count = record.seq, count + 1
            after = rows[-1]["seq"]
    if (last or 0) != head.seq or prev_hash != head.hash:
        problems.append(Problem(
            seq=head.seq, kind="truncated",
            message=f"the log ends at record #{last or 0} but its head says #{head.seq} "
            "(the last records were deleted or the head changed)",
        ))  # fmt: skip
    return VerifyReport(
        ok=not problems, records=count, first_seq=first, last_seq=last, problems=problems
    )

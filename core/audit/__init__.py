"""The audit log: who asked or changed what, append-only and tamper-evident.

Records live in the shared metadata store (`audit_log`), each carrying the hash of the one
before it (a hash chain), so that `verify` finds an edited, deleted or reordered record and
says which. `AuditLog` appends (serialised on a locked head row), searches, exports and
prunes; `core.audit.verify` checks the chain; `core.audit.note` is what a route fills in for
the request recorder (`serving.audit`).
"""

from core.audit.log import AuditLog
from core.audit.record import AuditEntry, AuditQuery, AuditRecord
from core.audit.settings import AuditSettings
from core.audit.verify import Problem, VerifyReport, verify

__all__ = [
    "AuditEntry",
    "AuditLog",
    "AuditQuery",
    "AuditRecord",
    "AuditSettings",
    "Problem",
    "VerifyReport",
    "verify",
]

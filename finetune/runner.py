"""`run_once`: one fine-tuning run, never two at once, always recorded, never half-applied.

A run holds the run lock (`finetune.lock`, an flock on `settings.run_lock`) from start to
end, so a manual `run-now`, the scheduler and `promote`/`rollback` never overlap, in any
process. A run that finds the lock taken returns "skipped: another run holds the lock" and
records nothing: the run holding the lock is the one the log should show.

The run is recorded as "running" first, then as how it ended (`finetune.manifest.RunRecord`):

- ok: a new version is in service; rejected: it was versioned but did not beat the adapter
  in service by the margin. Both consumed their data: the cursor moves past it and its
  dataset joins the replay pool, so a rejected run's data still teaches later runs.
- skipped: nothing new (cursor unchanged), or nothing in it to train on (cursor moves on).
- failed: any exception. The cursor stays, so the next run takes the same data again; the
  registry's current version and the model alias are as before (`finetune.rollout`).

A record left "running" by a process that died is marked failed by the next run. Files
besides the registry's, under `adapters_dir`: `datasets/<run id>/` (each consuming run's
dataset) and `work/<run id>/` (the adapter being trained, removed when the run ends).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from core.errors import RagError
from core.observability.metrics import FINETUNE_RUN_DURATION, FINETUNE_RUNS
from finetune.collect import Collector
from finetune.cycle import DATASETS, WORK, Cycle
from finetune.lock import Busy, run_lock
from finetune.manifest import Cursor, RunRecord, RunStatus
from finetune.registry import AdapterRegistry, open_registry
from finetune.rollout import open_rollout
from finetune.settings import FinetuneSettings

logger = logging.getLogger(__name__)
BUSY = "skipped: another run holds the lock"


class RunOutcome(BaseModel):
    """What a call to `run_once` did."""

    run_id: str | None = Field(description="The run's record id; None when not recorded.")
    status: RunStatus
    message: str
    version: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


def run_once(settings: FinetuneSettings, *, trigger: str = "manual") -> RunOutcome:
    """One run; a failure is recorded and returned as a "failed" outcome, not raised.

    Only a registry that cannot be opened or written (so nothing can be recorded) raises.

    Args:
        settings: the service's settings.
        trigger: what started it ("schedule", "manual"), kept in the record.
    """
    started = time.monotonic()
    try:
        with run_lock(settings.run_lock):
            outcome = _run(settings, trigger)
    except Busy:
        logger.warning("fine-tuning run not started: another run holds %s", settings.run_lock)
        outcome = RunOutcome(run_id=None, status="skipped", message=BUSY)
    FINETUNE_RUNS.labels(outcome.status).inc()
    FINETUNE_RUN_DURATION.labels(outcome.status).observe(time.monotonic() - started)
    return outcome


def last_cursor(runs: list[RunRecord]) -> Cursor:
    """The cursor of the newest record that has one; the beginning when none has."""
    return next((r.cursor for r in reversed(runs) if r.cursor is not None), Cursor())


def _run(settings: FinetuneSettings, trigger: str) -> RunOutcome:
    with open_registry(settings) as registry:
        return _run_with(settings, registry, trigger)


def _run_with(settings: FinetuneSettings, registry: AdapterRegistry, trigger: str) -> RunOutcome:
    _settle(registry, settings.adapters_dir)
    now = dt.datetime.now(dt.UTC)
    record = RunRecord(
        id=f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}", started=now, status="running",
        trigger=trigger,
    )  # fmt: skip
    registry.record_run(record)
    runs = registry.runs()
    cursor = last_cursor(runs)
    logger.info("fine-tuning run %s started (%s)", record.id, trigger)
    collector = Collector(settings.answer_service)
    cycle: Cycle | None = None
    try:
        with open_rollout(settings, registry) as rollout:
            cycle = Cycle(settings, registry, rollout, collector, record.id)
            result = cycle.run(cursor, runs)
        update: dict[str, Any] = dict(result)
    except Exception as exc:
        logger.exception("fine-tuning run %s failed", record.id)
        shutil.rmtree(settings.adapters_dir / DATASETS / record.id, ignore_errors=True)
        update = {"status": "failed", "message": f"failed: {_describe(exc)}", "cursor": cursor}
    except BaseException:  # Ctrl-C or shutdown: record it, then let it go on
        shutil.rmtree(settings.adapters_dir / DATASETS / record.id, ignore_errors=True)
        _finish(registry, record, {"status": "failed", "message": "interrupted", "cursor": cursor})
        raise
    finally:
        collector.close()
        shutil.rmtree(settings.adapters_dir / WORK / record.id, ignore_errors=True)
    if cycle is not None:
        update |= {"version": cycle.version, "details": cycle.details}
    done = _finish(registry, record, update)
    logger.info("fine-tuning run %s: %s", done.id, done.message)
    return RunOutcome(
        run_id=done.id, status=done.status, message=done.message, version=done.version,
        details=done.details,
    )  # fmt: skip


def _finish(registry: AdapterRegistry, record: RunRecord, update: dict[str, Any]) -> RunRecord:
    done = record.model_copy(update={**update, "finished": dt.datetime.now(dt.UTC)})
    registry.record_run(done)
    return done


def _settle(registry: AdapterRegistry, root: Path) -> None:
    """Runs left "running" died with their process (we hold the lock): mark them failed."""
    shutil.rmtree(root / WORK, ignore_errors=True)
    for stale in (r for r in registry.runs() if r.status == "running"):
        shutil.rmtree(root / DATASETS / stale.id, ignore_errors=True)
        message = "failed: interrupted, the process ended before the run finished"
        update = {"status": "failed", "message": message, "finished": dt.datetime.now(dt.UTC)}
        registry.record_run(stale.model_copy(update=update))


def _describe(exc: Exception) -> str:
    return exc.message if isinstance(exc, RagError) else f"{type(exc).__name__}: {exc}"

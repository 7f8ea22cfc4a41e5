"""`build_scheduler`: the APScheduler 3.x scheduler behind `python -m finetune schedule`.

One job, "finetune", on the configured crontab line: `max_instances=1` so a run still going
makes the next one a (logged) miss rather than a second run, `coalesce` so the runs missed
while the service was down become one, and a misfire grace time so a run that starts late
still starts. Those hold within this process; `run_once`'s file lock holds across processes.
A second job, "reconcile", reloads the adapter in service into vLLM if vLLM lost it. Jobs
live in memory: the schedule is configuration, rebuilt at every start.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from core.errors import RagError
from finetune.crontab import cron_trigger
from finetune.lock import Busy, run_lock
from finetune.registry import open_registry
from finetune.rollout import open_rollout
from finetune.runner import run_once
from finetune.settings import FinetuneSettings

logger = logging.getLogger(__name__)
JOB_ID = "finetune"
RECONCILE_ID = "reconcile"


def build_scheduler(settings: FinetuneSettings) -> BlockingScheduler:
    """The scheduler with its jobs added, not started."""
    schedule = settings.schedule
    zone = ZoneInfo(schedule.timezone)
    scheduler = BlockingScheduler(timezone=zone)
    scheduler.add_job(
        scheduled_run, cron_trigger(schedule.cron, schedule.timezone), args=[settings],
        id=JOB_ID, name="fine-tuning run", max_instances=1, coalesce=True,
        misfire_grace_time=schedule.misfire_grace_s, replace_existing=True,
    )  # fmt: skip
    if schedule.reconcile_every_s:
        scheduler.add_job(
            reconcile, IntervalTrigger(seconds=schedule.reconcile_every_s, timezone=zone),
            args=[settings], id=RECONCILE_ID, name="reload the adapter in service",
            max_instances=1, coalesce=True, misfire_grace_time=schedule.reconcile_every_s,
            replace_existing=True,
        )  # fmt: skip
    scheduler.add_listener(log_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    return scheduler


def scheduled_run(settings: FinetuneSettings) -> None:
    """The job: one run; nothing escapes, so one bad night never stops the schedule."""
    try:
        outcome = run_once(settings, trigger="schedule")
    except Exception:  # run_once records its own failures; this is the registry itself failing
        logger.exception("the fine-tuning run could not even be recorded")
        return
    level = logging.ERROR if outcome.status == "failed" else logging.INFO
    logger.log(level, "scheduled fine-tuning run: %s", outcome.message)


def reconcile(settings: FinetuneSettings) -> None:
    """The upkeep job: the adapter in service loaded in vLLM; skipped while a run works."""
    try:
        with (
            run_lock(settings.run_lock),
            open_registry(settings) as registry,
            open_rollout(settings, registry) as rollout,
        ):
            rollout.reconcile()
    except Busy:
        return
    except RagError as exc:
        logger.warning("could not check the adapter in service: %s", exc.message)


def log_event(event: JobEvent) -> None:
    """Say why a job did not run, or that it raised."""
    if event.code == EVENT_JOB_MAX_INSTANCES:
        logger.warning("job %s not started: its previous run is still going", event.job_id)
    elif event.code == EVENT_JOB_MISSED:
        logger.warning("job %s missed its run time beyond the grace time", event.job_id)
    elif isinstance(event, JobExecutionEvent) and event.exception is not None:
        logger.error("job %s raised: %r", event.job_id, event.exception)

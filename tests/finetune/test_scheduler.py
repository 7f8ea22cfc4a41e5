"""The schedule's configuration, read off the built scheduler: nothing is started or waited on."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

from finetune.crontab import cron_trigger, cron_weekdays
from finetune.scheduler import JOB_ID, RECONCILE_ID, build_scheduler, log_event, scheduled_run
from finetune.settings import FinetuneSettings

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")


def settings(tmp_path, **schedule) -> FinetuneSettings:
    return FinetuneSettings(_env_file=None, adapters_dir=tmp_path, schedule=schedule)


def fields(trigger: CronTrigger) -> dict[str, str]:
    """The five crontab fields as the trigger holds them."""
    crontab = ("minute", "hour", "day", "month", "day_of_week")
    return {f.name: str(f) for f in trigger.fields if f.name in crontab}


def test_the_default_schedule_is_nightly_and_never_overlaps(tmp_path):
    config = settings(tmp_path)
    scheduler = build_scheduler(config)
    assert isinstance(scheduler, BlockingScheduler)
    assert not scheduler.running
    job = scheduler.get_job(JOB_ID)
    assert job.func is scheduled_run
    assert job.func_ref == "finetune.scheduler:scheduled_run"  # importable by reference
    assert job.args == (config,)
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 3600)
    assert isinstance(job.trigger, CronTrigger)
    assert fields(job.trigger) == {
        "minute": "0", "hour": "3", "day": "*", "month": "*", "day_of_week": "*"
    }  # fmt: skip
    assert job.trigger.timezone == UTC
    late_evening = dt.datetime(2026, 11, 20, 22, 15, tzinfo=UTC)
    next_run = job.trigger.get_next_fire_time(None, late_evening)
    assert next_run == dt.datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    reconcile = scheduler.get_job(RECONCILE_ID)
    assert isinstance(reconcile.trigger, IntervalTrigger)
    assert reconcile.trigger.interval == dt.timedelta(seconds=300)
    assert (reconcile.max_instances, reconcile.coalesce) == (1, True)


def test_a_configured_schedule(tmp_path):
    config = settings(
        tmp_path, cron="30 2 * * 1-5", timezone="Europe/Berlin", misfire_grace_s=900,
        reconcile_every_s=0,
    )  # fmt: skip
    scheduler = build_scheduler(config)
    job = scheduler.get_job(JOB_ID)
    assert job.misfire_grace_time == 900
    assert fields(job.trigger) == {
        "minute": "30", "hour": "2", "day": "*", "month": "*",
        "day_of_week": "mon,tue,wed,thu,fri",
    }  # fmt: skip
    assert job.trigger.timezone == BERLIN
    # Cron's 1-5 is Monday to Friday: from Friday night the next run is Monday, Berlin time.
    friday_night = dt.datetime(2026, 11, 20, 23, 0, tzinfo=BERLIN)
    assert job.trigger.get_next_fire_time(None, friday_night) == dt.datetime(
        2026, 11, 23, 2, 30, tzinfo=BERLIN
    )
    assert scheduler.get_job(RECONCILE_ID) is None


@pytest.mark.parametrize(
    ("field", "names"),
    [("*", "*"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"),
     ("*/2", "sun,tue,thu,sat"), ("5-7", "sun,fri,sat"), ("mon-fri", "mon-fri"),
     ("0,6", "sun,sat")],
)  # fmt: skip
def test_weekday_numbers_are_read_as_cron_reads_them(field, names):
    assert cron_weekdays(field) == names


def test_sunday_is_zero_as_in_cron():
    trigger = cron_trigger("0 4 * * 0", "UTC")
    monday = dt.datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, monday) == dt.datetime(2026, 11, 29, 4, 0, tzinfo=UTC)
    assert trigger.get_next_fire_time(None, monday).weekday() == 6


@pytest.mark.parametrize(
    ("schedule", "message"),
    [({"cron": "0 3 * *"}, "5 fields"), ({"cron": "61 3 * * *"}, "not a valid crontab"),
     ({"cron": "0 3 1 * 1"}, "not both"), ({"cron": "0 3 * * 8"}, "not a day of the week"),
     ({"cron": "0 3 * * 5-1"}, "backwards"), ({"timezone": "Mars/Olympus"}, "unknown time zone"),
     ({"misfire_grace_s": 0}, "greater than or equal to 1")],
)  # fmt: skip
def test_a_bad_schedule_is_refused_at_start(tmp_path, schedule, message):
    with pytest.raises(ValidationError, match=message):
        settings(tmp_path, **schedule)


def test_missed_and_overlapping_runs_and_errors_are_logged(caplog):
    caplog.set_level(logging.WARNING, logger="finetune.scheduler")
    now = dt.datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    log_event(JobEvent(EVENT_JOB_MAX_INSTANCES, JOB_ID, "default"))
    log_event(JobExecutionEvent(EVENT_JOB_MISSED, JOB_ID, "default", now))
    log_event(
        JobExecutionEvent(EVENT_JOB_ERROR, JOB_ID, "default", now, exception=RuntimeError("boom"))
    )
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "job finetune not started: its previous run is still going"),
        ("WARNING", "job finetune missed its run time beyond the grace time"),
        ("ERROR", "job finetune raised: RuntimeError('boom')"),
    ]


def test_the_schedule_and_publishing_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_FINETUNE_SCHEDULE__CRON", "15 1 * * 0")
    monkeypatch.setenv("KB_FINETUNE_SCHEDULE__TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("KB_FINETUNE_SCHEDULE__MISFIRE_GRACE_S", "600")
    monkeypatch.setenv("KB_FINETUNE_VLLM__URL", "http://vllm:8000/v1")
    monkeypatch.setenv("KB_FINETUNE_VLLM__KEEP_PREVIOUS", "2")
    monkeypatch.setenv("KB_FINETUNE_VLLM__ADAPTERS_PATH", "/adapters")
    monkeypatch.setenv("KB_FINETUNE_ANSWER_SERVICE__URL", "http://serving:8000")
    monkeypatch.setenv("KB_FINETUNE_ADAPTERS_DIR", str(tmp_path))
    config = FinetuneSettings(_env_file=None)
    assert config.run_lock == tmp_path / "run.lock"
    assert (config.vllm.url, config.vllm.keep_previous, config.vllm.adapters_path) == (
        "http://vllm:8000/v1", 2, "/adapters"
    )  # fmt: skip
    assert config.answer_service.url == "http://serving:8000"
    job = build_scheduler(config).get_job(JOB_ID)
    assert job.misfire_grace_time == 600
    assert fields(job.trigger)["day_of_week"] == "sun"
    assert job.trigger.timezone == ZoneInfo("Asia/Shanghai")
    monkeypatch.setenv("KB_FINETUNE_LOCK_FILE", str(tmp_path / "elsewhere.lock"))
    assert FinetuneSettings(_env_file=None).run_lock == tmp_path / "elsewhere.lock"

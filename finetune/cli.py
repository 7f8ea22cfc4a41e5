"""`python -m finetune` and `kb finetune`: the schedule, a run now, versions, promotion, rollback.

Settings come from `KB_FINETUNE_*` (see `finetune.settings`). `promote` and `rollback` take the
run lock, so they never interleave with a run; when a run holds it they say so and stop.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from core.errors import ConfigurationError, NotFound, RagError
from core.observability.http import serve_metrics
from core.observability.logs import cli_log_level, configure_logging
from core.privacy import install_log_masking
from finetune.lock import run_lock
from finetune.manifest import VersionInfo
from finetune.registry import AdapterRegistry, open_registry
from finetune.rollout import Rollout, open_rollout
from finetune.settings import FinetuneSettings

T = TypeVar("T")


def _settings() -> FinetuneSettings:
    try:
        return FinetuneSettings()
    except ValidationError as exc:
        raise ConfigurationError(f"the KB_FINETUNE_* settings are invalid: {exc}") from exc


def _logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_log_masking()  # personal data never reaches a log line
    # Also when `kb` configured logging first (basicConfig then does nothing).
    logging.getLogger().setLevel(level.upper())


def _guarded(action: Callable[[], T]) -> T:
    """`action()`; a RagError is printed and exits with status 2."""
    try:
        return action()
    except RagError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc.message}", highlight=False)
        sys.exit(2)


log_level = click.option("--log-level", default="INFO", show_default=True, help="Logging level.")


@click.group("finetune")
def cli() -> None:
    """Scheduled LoRA fine-tuning: adapters trained on new documents and rated answers."""


@cli.command()
@log_level
def schedule(log_level: str) -> None:
    """Run the schedule in the foreground (Ctrl-C stops it)."""
    # Imported here: torch and transformers load only for commands that train.
    from finetune.scheduler import JOB_ID, build_scheduler

    del log_level  # read by cli_log_level(): only a level given here beats the settings'
    settings = _guarded(_settings)
    configure_logging(settings.log, cli_log_level())
    if settings.metrics_port:
        serve_metrics(settings.metrics_port)
    scheduler = build_scheduler(settings)
    trigger = scheduler.get_job(JOB_ID).trigger
    click.echo(
        f"fine-tuning on {settings.schedule.cron!r} ({settings.schedule.timezone}): {trigger}"
    )
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)


@cli.command("run-now")
@log_level
def run_now(log_level: str) -> None:
    """Run once now; exit status 1 when the run failed."""
    from finetune.runner import run_once

    _logging(log_level)
    outcome = run_once(_guarded(_settings), trigger="manual")
    click.echo(outcome.message)
    if outcome.status == "failed":
        sys.exit(1)


@cli.command("list")
@click.option("--runs", "shown", default=10, show_default=True, help="Recent runs to show.")
def list_versions(shown: int) -> None:
    """Adapter versions (the one in service marked *) and recent runs."""
    registry = _guarded(lambda: open_registry(_settings()))
    console = Console()
    current = registry.current()
    versions = Table(title="adapter versions")
    for header in ("", "version", "status", "created", "held-out ppl", "vs", "parent"):
        # Version names stay whole; the other columns wrap instead.
        versions.add_column(header, no_wrap=header == "version")
    for info in registry.list_versions():
        mark = "*" if current and info.version == current.version else ""
        versions.add_row(mark, info.version, info.status, *_figures(info))
    console.print(versions)
    runs = Table(title="recent runs")
    for header in ("run", "trigger", "status", "version", "message"):
        runs.add_column(header, no_wrap=header == "run")
    for run in registry.runs()[-shown:] if shown else []:
        runs.add_row(run.id, run.trigger, run.status, run.version or "", run.message)
    console.print(runs)
    registry.close()


@cli.command()
@click.argument("version")
def promote(version: str) -> None:
    """Put VERSION in service (a unique start such as v0003 will do)."""
    name = _guarded(lambda: _with_rollout(lambda r, reg: r.promote(_resolve(reg, version))))
    click.echo(f"in service: {name}")


@cli.command()
def rollback() -> None:
    """Put the previous version back in service."""
    version = _guarded(lambda: _with_rollout(lambda rollout, _: rollout.rollback()))
    click.echo(f"rolled back to {version}")


def _with_rollout(action: Callable[[Rollout, AdapterRegistry], T]) -> T:
    settings = _settings()
    with (
        run_lock(settings.run_lock),
        open_registry(settings) as registry,
        open_rollout(settings, registry) as rollout,
    ):
        return action(rollout, registry)


def _resolve(registry: AdapterRegistry, given: str) -> str:
    names = [v.version for v in registry.list_versions()]
    found = [n for n in names if n == given] or [n for n in names if n.startswith(given)]
    if len(found) != 1:
        raise NotFound(f"{given!r} names {len(found)} versions; `list` shows them")
    return found[0]


def _figures(info: VersionInfo) -> tuple[str, str, str, str]:
    metrics, gate = info.manifest.metrics, info.manifest.gate or {}
    heldout = metrics.get("heldout", {}).get("perplexity")
    against = metrics.get("current", {}).get("perplexity")
    versus = f"{against:.4g} ({gate.get('against', '?')})" if against is not None else ""
    return (
        f"{info.manifest.created_at:%Y-%m-%d %H:%M}",
        f"{heldout:.4g}" if heldout is not None else "",
        versus,
        info.manifest.parent or "",
    )

"""JSON log lines: one object per record, with the request id and user of the work in progress.

Our log calls carry ids, counts and reasons, never document text or questions; the record's
arguments (which could) are dropped when `LogSettings.content` is off: the
message is then the bare format string with its placeholders.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import click

from core.observability import context
from core.privacy.logs import PiiLogFilter
from core.settings import LogSettings

# Attributes every LogRecord has; anything else was passed in `extra=` and is kept.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", "user", ...extra, "exc"}`."""

    def __init__(self, *, content: bool = True) -> None:
        super().__init__()
        self._content = content

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage() if self._content else str(record.msg)
        out: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        if (request_id := context.request_id.get()) is not None:
            out["request_id"] = request_id
        if (user := context.user.get()) is not None:
            out["user"] = user
        out |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(settings: LogSettings, level: str | None = None) -> None:
    """Set up the root logger once per process; `level` (a command-line option) wins.

    Its one handler masks personal data (core.privacy) in every line, whatever the format.
    """
    handler = logging.StreamHandler()
    if settings.format == "json":
        handler.setFormatter(JsonFormatter(content=settings.content))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(PiiLogFilter())  # personal data never reaches a log line
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or settings.level).upper())


def cli_log_level() -> str | None:
    """The `--log-level` given on the command line (to this command or a parent), if any.

    Without one, the service's `LogSettings.level` (`KB_LOG__LEVEL`...) decides.
    """
    ctx: click.Context | None = click.get_current_context(silent=True)
    while ctx is not None:
        source = ctx.get_parameter_source("log_level")
        if source is click.core.ParameterSource.COMMANDLINE:
            return str(ctx.params["log_level"])
        ctx = ctx.parent
    return None

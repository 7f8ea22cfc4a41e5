"""Personal data masked in every log line, whatever module wrote it."""

from __future__ import annotations

import logging

from core.privacy.pii import PiiMasker


class PiiLogFilter(logging.Filter):
    """Masks the formatted message (arguments included) of each record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = PiiMasker().mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of `logger` (the root logger by default).

    On handlers, not on the logger: records from child loggers propagate to the root's
    handlers without passing the root logger's own filters.
    """
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, PiiLogFilter) for f in handler.filters):
            handler.addFilter(PiiLogFilter())

"""The worker process of `pool.py`: runs one native task at a time for the parent.

Started as `python -m ingest.parsers.worker FD`, where FD is its end of a socket pair. It
reads JSON requests `{"task", "args"}` and answers `{"ok": result}` or `{"error": {"kind",
"message"}}`, until the parent goes away. Only the tasks named in TASKS can run; each gets a
`cache` dict that lives as long as the worker (loaded models, the Tika extractor).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

# Task name -> "module:function", imported on first use so that a Tika worker never loads
# the OCR models and the other way round.
TASKS = {
    "tika": "ingest.parsers.worker_tasks:tika_extract",
    "ocr_pdf_page": "ingest.parsers.worker_tasks:ocr_pdf_page",
}


def _task(name: str) -> Callable[..., Any]:
    module, _, function = TASKS[name].partition(":")
    found: Callable[..., Any] = getattr(importlib.import_module(module), function)
    return found


def serve(connection: Connection) -> None:
    """Answer requests until the parent closes its end."""
    cache: dict[str, Any] = {}
    while True:
        try:
            request = json.loads(connection.recv_bytes())
        except EOFError:
            return
        try:
            reply: dict[str, Any] = {"ok": _task(request["task"])(cache, **request["args"])}
        except Exception as exc:  # the parent decides what a failure means for the file
            reply = {"error": {"kind": type(exc).__name__, "message": str(exc)}}
        try:
            connection.send_bytes(json.dumps(reply).encode())
        except OSError:  # the parent stopped waiting (it went away, or gave up on us)
            return


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))

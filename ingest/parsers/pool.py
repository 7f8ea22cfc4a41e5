"""Worker processes for native parsers, so that a crash or a hang costs one file, not the service.

Apache Tika compiled to native code and ONNX Runtime are native libraries: a bad file can
crash them (taking the process with it) or make them loop. Each task therefore runs in a
long-lived worker process (`python -m ingest.parsers.worker`) with a time limit; a worker
that runs past it is killed, one that dies is noticed, and either is replaced by a fresh one
for the next task. Requests and replies are JSON over a socket pair, never pickle: a worker
that a malicious file took over can send nothing but data back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# The folder that holds the `ingest` package: the worker imports it whether or not the
# project is installed (a checkout run with `python bench/...`).
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerTimeout(Exception):
    """The task ran past its time limit; its worker was killed."""


class WorkerCrashed(Exception):
    """The worker process died during the task (exit status in the message)."""


class WorkerTaskError(Exception):
    """The task raised in the worker; `kind` is the exception's class name there."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class _Worker:
    """One worker process and the parent's end of its socket pair."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PROJECT_ROOT, env.get("PYTHONPATH")]))
        try:
            # A session of its own: Ctrl-C in a terminal stops the parent, which then ends
            # its workers, instead of killing a worker in the middle of a file.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingest.parsers.worker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        finally:
            theirs.close()
        self.connection = Connection(ours.detach())

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, task: str, args: dict[str, Any], timeout_s: float) -> Any:
        """Run one task; blocks for at most `timeout_s` (then WorkerTimeout)."""
        try:
            self.connection.send_bytes(json.dumps({"task": task, "args": args}).encode())
            if not self.connection.poll(timeout_s):
                raise WorkerTimeout(f"no answer in {timeout_s:g} s")
            reply = json.loads(self.connection.recv_bytes())
        except (EOFError, OSError) as exc:
            status = self.process.wait(timeout=5)
            raise WorkerCrashed(f"the worker process died (exit status {status})") from exc
        if "error" in reply:
            raise WorkerTaskError(str(reply["error"]["kind"]), str(reply["error"]["message"]))
        return reply["ok"]

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()


class WorkerPool:
    """At most `size` worker processes, started when first needed and reused across tasks.

    Tasks wait for a free worker in a thread (a thread-safe queue of slots), so one pool
    serves any event loop; a task whose caller is cancelled still ends within its limit.
    """

    def __init__(self, *, size: int = 1) -> None:
        self._slots: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(size):
            self._slots.put(None)
        self._workers: set[_Worker] = set()

    async def run(self, task: str, args: dict[str, Any], *, timeout_s: float) -> Any:
        """Run `task` in a free worker; WorkerTimeout, WorkerCrashed or WorkerTaskError."""
        return await asyncio.to_thread(self._run, task, args, timeout_s)

    def _run(self, task: str, args: dict[str, Any], timeout_s: float) -> Any:
        worker = self._slots.get()
        try:
            if worker is None or not worker.alive:
                worker = _Worker()
                self._workers.add(worker)
            return worker.call(task, args, timeout_s)
        except (WorkerTimeout, WorkerCrashed):
            # A worker stopped mid-task is in an unknown state: never reuse it.
            if worker is not None:
                self._retire(worker)
                worker = None
            raise
        finally:
            self._slots.put(worker)

    def pids(self) -> list[int]:
        """Process ids of the live workers (for operators' logs and for tests)."""
        return [worker.process.pid for worker in self._workers if worker.alive]

    def close(self) -> None:
        """Stop every worker; the pool starts new ones if it is used again."""
        for worker in list(self._workers):
            self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.discard(worker)
        logger.debug("worker %d stopped", worker.process.pid)

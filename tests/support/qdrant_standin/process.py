"""The stand-in as its own process, started and stopped the way a test needs a server.

`start()` returns once `GET /` answers; the port stays the same across `stop()`/`start()`
(and `kill()`), so clients keep their URL through a restart, as with a restarted Qdrant.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

REPO_ROOT = Path(__file__).resolve().parents[3]


class QdrantStandinProcess:
    """`python -m tests.support.qdrant_standin` on 127.0.0.1, data in `path`."""

    def __init__(self, path: Path, *, api_key: str | None = None, port: int = 0) -> None:
        self.path = path
        self.api_key = api_key
        self.port = port  # 0 until the first start picks one
        self.log = path / "standin.log"
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ready_within_s: float = 60.0) -> None:
        if self._process is not None:
            raise RuntimeError("the stand-in is already running")
        self.path.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "tests.support.qdrant_standin"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--path", str(self.path)]
        if self.api_key is not None:
            command += ["--api-key", self.api_key]
        with self.log.open("a") as log:
            self._process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True
            )
        assert self._process.stdout is not None
        first_line = self._process.stdout.readline().strip()  # the bound URL, or EOF on failure
        if not first_line:
            self._failed("exited before binding its port")
        self.port = int(first_line.rsplit(":", 1)[1])
        self._wait_ready(ready_within_s)

    def stop(self, *, within_s: float = 30.0) -> None:
        """SIGTERM: uvicorn shuts down and the lifespan flushes and closes every shard."""
        settle_version_checks()
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(within_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _close(process)

    def kill(self) -> None:
        """SIGKILL, as a crashed server: only what Edge made durable (its WAL) survives."""
        settle_version_checks()
        process, self._process = self._process, None
        if process is not None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            _close(process)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> QdrantStandinProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_ready(self, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                self._failed(f"exited with status {self._process.returncode}")
            try:
                if httpx.get(self.url + "/", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet: the lifespan is still opening collections
            time.sleep(0.05)
        self._failed(f"did not answer within {within_s} s")

    def _failed(self, why: str) -> None:
        self.kill()
        tail = self.log.read_text()[-3000:] if self.log.exists() else ""
        raise RuntimeError(f"Qdrant stand-in {why}; its log ends:\n{tail}")


def settle_version_checks() -> None:
    """Wait for the server-version checks qdrant-client runs in a thread for each new client.

    A check still running when its server goes away warns, an error under pytest, and pytest
    blames whichever test runs when the thread ends; so a server stops only after them.
    """
    for thread in threading.enumerate():
        if thread.name.endswith("(_check_compatibility)"):
            thread.join()


def _close(process: subprocess.Popen[str]) -> None:
    if process.stdout is not None:
        process.stdout.close()

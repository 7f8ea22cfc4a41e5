"""Our services as real processes on loopback, for the multi-process tests.

Each `Service` is one command (`python -m serving serve`, `python -m ingest worker` ...) with
its own environment and log file; it can be started, killed with any signal and restarted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
OURS = ("KB_", "TIKA_URL", "QDRANT_URL")


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without our settings, plus `settings`.

    The embedding graph cache stays: every process reuses what the session exported.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(OURS) or k == "KB_EMBEDDING__CACHE_DIR"
    }
    return {**env, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **settings}


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout_s} s:\n{log.read_text()[-3000:]}")


@dataclass
class Service:
    """One of our processes; `url` (when it serves HTTP) is checked at /healthz on start."""

    name: str
    args: list[str]
    env: dict[str, str]
    logs: Path
    url: str | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def log(self) -> Path:
        return self.logs / f"{self.name}-{self.starts}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout_s: float = 120) -> Service:
        self.starts += 1
        self.logs.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, *self.args], env=self.env, cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        if self.url is not None:
            wait_until_healthy(self.url, self.process, self.log, timeout_s)
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

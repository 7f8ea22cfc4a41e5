"""Peak memory of a block of work: CUDA's allocator peak on a GPU, resident-set growth on CPU.

- GPU: `torch.cuda.max_memory_allocated` after resetting the peak at the start: every tensor
  the block held at its busiest (weights, activations, optimizer state), not the allocator's
  cached reserve.
- CPU (Linux): the kernel's resident-set high-water mark is reset at the start (writing 5 to
  `/proc/self/clear_refs`) and `VmHWM` at the end minus `VmRSS` at the start is reported:
  how far the process grew during the block, sampled by the kernel, so no short spike is
  missed. Where the reset is not allowed, the process's lifetime peak (`ru_maxrss`) is used
  instead, which can only overstate.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from types import TracebackType

import torch

_STATUS = Path("/proc/self/status")


def _status_bytes(field: str) -> int | None:
    try:
        lines = _STATUS.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return None


def _lifetime_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class PeakMemory:
    """Context manager; `bytes` and `kind` say what was measured once the block ends."""

    def __init__(self, device: torch.device) -> None:
        self._device = device
        self._start = 0
        self._reset = False
        self.bytes = 0
        self.kind = "cuda_max_allocated" if device.type == "cuda" else "cpu_rss_growth"

    def __enter__(self) -> PeakMemory:
        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)
            torch.cuda.reset_peak_memory_stats(self._device)
            return self
        self._start = _status_bytes("VmRSS") or 0
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._reset = True
        except OSError:
            self.kind = "cpu_lifetime_peak_rss_growth"
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)
            self.bytes = int(torch.cuda.max_memory_allocated(self._device))
            return
        peak = _status_bytes("VmHWM") if self._reset else None
        self.bytes = max(0, (peak or _lifetime_peak()) - self._start)

"""The job progress stream sends an event per change, and the finished job last."""

from __future__ import annotations

import json
from dataclasses import replace

from ingest.job_events import job_events
from ingest.jobs import Job, JobFile


def job(status: str, pages: int) -> Job:
    file = JobFile(position=0, name="a.pdf", stored_path="/x", size_bytes=1, pages=pages)
    return Job(id="j", kb="kb", status=status, created_at="t", files=[file])


async def test_one_event_per_change_then_done():
    states = [job("queued", 0), job("queued", 0), job("running", 1), job("running", 1)]
    states += [job("running", 3), replace(job("done", 3), finished_at="t2")]
    reads = iter(states)

    async def read() -> Job:
        return next(reads)

    async def connected() -> bool:
        return False

    def render(j: Job) -> str:
        return json.dumps({"status": j.status, "pages": j.files[0].pages})

    events = [e async for e in job_events(read, render, connected)]
    assert events == [
        'event: progress\ndata: {"status": "queued", "pages": 0}\n\n',
        'event: progress\ndata: {"status": "running", "pages": 1}\n\n',
        'event: progress\ndata: {"status": "running", "pages": 3}\n\n',
        'event: done\ndata: {"status": "done", "pages": 3}\n\n',
    ]


async def test_the_stream_stops_when_the_browser_goes():
    async def read() -> Job:
        return job("running", 1)

    async def gone() -> bool:
        return True

    events = [e async for e in job_events(read, lambda j: j.status, gone)]
    assert events == ["event: progress\ndata: running\n\n"]

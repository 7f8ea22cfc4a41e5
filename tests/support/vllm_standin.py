"""A small stand-in for vLLM's OpenAI-compatible server (chat completions, SSE, models).

`POST /v1/chat/completions` answers with `reply` (a fixed text, or a function of the request's
messages), as one JSON body or, with `"stream": true`, as `data: {chunk}\\n\\n` events of
`chunk_chars` characters (so markers like `[12]` arrive split) and a final `data: [DONE]`.
Settings steer it between requests: `delay_s` before answering (timeouts), `status` to fail
with that status and an OpenAI error body, `chunk_delay_s` between streamed chunks (so a
client can leave mid-stream), `fail_after_chunks` to send an in-stream error event. Every
request is recorded with its headers, and streams with whether they finished or were
cancelled because the client went away.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

Reply = str | Callable[[list[dict[str, Any]]], str]


@dataclass
class Recorded:
    """One chat-completions request as the stand-in saw it."""

    body: dict[str, Any]
    headers: dict[str, str]
    finished: bool = False
    cancelled: bool = False

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body["messages"])

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages)


@dataclass
class VllmStandin:
    """Settings and the record of one stand-in server; `app()` builds its ASGI app."""

    model: str = "base"
    reply: Reply = "The knowledge base does not say."
    delay_s: float = 0.0
    status: int = 200
    chunk_chars: int = 4
    chunk_delay_s: float = 0.0
    fail_after_chunks: int | None = None
    requests: list[Recorded] = field(default_factory=list)

    def reset(self, **settings: Any) -> None:
        defaults = VllmStandin()
        for name in ("model", "reply", "delay_s", "status", "chunk_chars", "chunk_delay_s"):
            setattr(self, name, settings.pop(name, getattr(defaults, name)))
        self.fail_after_chunks = settings.pop("fail_after_chunks", None)
        assert not settings, f"unknown settings {settings}"
        self.requests.clear()

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()

    def app(self) -> FastAPI:
        app = FastAPI(title="vLLM stand-in")

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            card = {"id": self.model, "object": "model", "created": 0, "owned_by": "vllm"}
            return {"object": "list", "data": [card]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            record = Recorded(body, dict(request.headers))
            self.requests.append(record)
            await asyncio.sleep(self.delay_s)
            if self.status != 200:
                error = {"message": "stand-in failure", "type": "InternalServerError", "code": 500}
                return JSONResponse({"error": error}, status_code=self.status)
            text = self.reply(body["messages"]) if callable(self.reply) else self.reply
            if body.get("stream"):
                return StreamingResponse(self._events(record, text), media_type="text/event-stream")
            record.finished = True
            return JSONResponse(_completion(body["model"], text))

        return app

    async def _events(self, record: Recorded, text: str) -> AsyncIterator[str]:
        model, size = record.body["model"], self.chunk_chars
        try:
            yield _chunk(model, {"role": "assistant", "content": ""})
            for index, start in enumerate(range(0, len(text), size)):
                if self.fail_after_chunks is not None and index == self.fail_after_chunks:
                    yield 'data: {"error": {"message": "stand-in died", "type": "Internal"}}\n\n'
                    record.finished = True
                    return
                await asyncio.sleep(self.chunk_delay_s)
                yield _chunk(model, {"content": text[start : start + size]})
            yield _chunk(model, {}, finish_reason="stop")
            yield "data: [DONE]\n\n"
            record.finished = True
        finally:
            record.cancelled = not record.finished


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    body = {
        "id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": model, "choices": [choice],
    }  # fmt: skip
    return f"data: {json.dumps(body)}\n\n"


def _completion(model: str, text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    return {
        "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }  # fmt: skip

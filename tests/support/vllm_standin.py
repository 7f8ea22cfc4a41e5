"""A small stand-in for vLLM's OpenAI-compatible server (chat completions, SSE, models).

`POST /v1/chat/completions` answers with `reply` (a fixed text, or a function of the request's
messages), as one JSON body or, with `"stream": true`, as `data: {chunk}\\n\\n` events of
`chunk_chars` characters (so markers like `[12]` arrive split) and a final `data: [DONE]`.
Settings steer it between requests: `delay_s` before answering (timeouts), `status` to fail
with that status and an OpenAI error body, `chunk_delay_s` between streamed chunks (so a
client can leave mid-stream), `fail_after_chunks` to send an in-stream error event. Every
request is recorded with its headers, and streams with whether they finished or were
cancelled because the client went away.

Runtime LoRA updating, as vLLM does it with `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`
(`vllm/entrypoints/openai/serving_models.py`):

- `POST /v1/load_lora_adapter {"lora_name", "lora_path"}`: 200 with the text
  `Success: LoRA adapter '<name>' added successfully.`; 400 (`InvalidUserInput`) when either
  field is empty or the name is already loaded; 404 (`NotFoundError`, "No adapter found for
  <path>") when the folder holds no `adapter_config.json`: vLLM reads the folder at load time
  and raises `LoRAAdapterNotFoundError`, which it maps to 404.
- `POST /v1/unload_lora_adapter {"lora_name"}`: 200 with
  `Success: LoRA adapter '<name>' removed successfully.`; 404 (`NotFoundError`) when unknown.
- `GET /v1/models` lists the base model, then each loaded adapter with `root` (its path) and
  `parent` (the base model).
- With `strict_models`, a chat request for a model that is neither the base nor a loaded
  adapter gets vLLM's 404 "The model `x` does not exist." (off by default: other tests ask
  for any model name).

With `api_key` set, every request needs `Authorization: Bearer <api_key>` (vLLM's
`--api-key`) and gets 401 without it. `lora_status` makes both LoRA endpoints fail with that
status; `lora_log` records every successful load and unload in order; `loras` is what is
loaded now (name → path).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

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
    strict_models: bool = False
    lora_status: int = 200
    api_key: str | None = None
    requests: list[Recorded] = field(default_factory=list)
    loras: dict[str, str] = field(default_factory=dict)
    lora_log: list[tuple[str, str]] = field(default_factory=list)

    def reset(self, **settings: Any) -> None:
        defaults = VllmStandin()
        names = ("model", "reply", "delay_s", "status", "chunk_chars", "chunk_delay_s")
        for name in (*names, "strict_models", "lora_status", "api_key"):
            setattr(self, name, settings.pop(name, getattr(defaults, name)))
        self.fail_after_chunks = settings.pop("fail_after_chunks", None)
        assert not settings, f"unknown settings {settings}"
        self.requests.clear()
        self.loras.clear()
        self.lora_log.clear()

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 10) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.02)
        return condition()

    def app(self) -> FastAPI:
        async def authorise(request: Request) -> None:
            wanted = f"Bearer {self.api_key}"
            if self.api_key and request.headers.get("authorization") != wanted:
                raise _Unauthorized

        # A dependency, not a middleware: it leaves streamed responses untouched.
        app = FastAPI(title="vLLM stand-in", dependencies=[Depends(authorise)])

        @app.exception_handler(_Unauthorized)
        async def unauthorized(_: Request, __: _Unauthorized) -> JSONResponse:
            return _error("Unauthorized", "Unauthorized", 401)

        @app.get("/v1/models")
        async def models() -> dict[str, Any]:
            card = {"id": self.model, "object": "model", "created": 0, "owned_by": "vllm"}
            adapters = [
                {**card, "id": name, "root": path, "parent": self.model}
                for name, path in self.loras.items()
            ]
            return {"object": "list", "data": [{**card, "root": self.model}, *adapters]}

        @app.post("/v1/load_lora_adapter")
        async def load(request: Request) -> Response:
            body = await request.json()
            name, path = body.get("lora_name"), body.get("lora_path")
            if self.lora_status != 200:
                return _error("stand-in failure", "InternalServerError", self.lora_status)
            if not name or not path:
                message = "Both 'lora_name' and 'lora_path' must be provided."
                return _error(message, "InvalidUserInput", 400)
            if name in self.loras:
                message = f"The lora adapter '{name}' has already been loaded."
                return _error(message, "InvalidUserInput", 400)
            if not (Path(path) / "adapter_config.json").is_file():
                message = f"Loading lora {name} failed: No adapter found for {path}"
                return _error(message, "NotFoundError", 404)
            self.loras[name] = path
            self.lora_log.append(("load", name))
            return PlainTextResponse(f"Success: LoRA adapter '{name}' added successfully.")

        @app.post("/v1/unload_lora_adapter")
        async def unload(request: Request) -> Response:
            name = (await request.json()).get("lora_name")
            if self.lora_status != 200:
                return _error("stand-in failure", "InternalServerError", self.lora_status)
            if name not in self.loras:
                message = f"The lora adapter '{name}' cannot be found."
                return _error(message, "NotFoundError", 404)
            del self.loras[name]
            self.lora_log.append(("unload", name))
            return PlainTextResponse(f"Success: LoRA adapter '{name}' removed successfully.")

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            record = Recorded(body, dict(request.headers))
            self.requests.append(record)
            known = body.get("model") in (self.model, *self.loras)
            if self.strict_models and not known:
                message = f"The model `{body.get('model')}` does not exist."
                return _error(message, "NotFoundError", 404)
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
            if (record.body.get("stream_options") or {}).get("include_usage"):
                # vLLM's last chunk when asked for usage: no choices, the token counts.
                yield _usage_chunk(model, len(record.prompt.split()), -(-len(text) // size))
            yield "data: [DONE]\n\n"
            record.finished = True
        finally:
            record.cancelled = not record.finished


class _Unauthorized(Exception):
    """A request without the configured API key."""


def _error(message: str, kind: str, status: int) -> JSONResponse:
    """vLLM's error body: the OpenAI envelope with the HTTP status as `code`."""
    error = {"message": message, "type": kind, "param": None, "code": status}
    return JSONResponse({"error": error}, status_code=status)


def _chunk(model: str, delta: dict[str, Any], finish_reason: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    body = {
        "id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": model, "choices": [choice],
    }  # fmt: skip
    return f"data: {json.dumps(body)}\n\n"


def _usage_chunk(model: str, prompt_tokens: int, completion_tokens: int) -> str:
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip
    body = {
        "id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": model, "choices": [], "usage": usage,
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


def cite_first_passage(messages: list[dict[str, Any]]) -> str:
    """An answer as a grounded model gives it: the first passage's first sentence, cited."""
    prompt = str(messages[-1].get("content", ""))
    _, _, passages = prompt.partition("[1] ")
    body = passages.split("\n", 1)[1] if "\n" in passages else passages
    sentence = body.split("\n\n", 1)[0].split(". ", 1)[0].strip()
    return f"{sentence}. [1]" if sentence else "The knowledge base does not say."


def main() -> None:
    """`python -m tests.support.vllm_standin --port N`: the stand-in as its own process."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", default="base")
    args = parser.parse_args()
    standin = VllmStandin(model=args.model, reply=cite_first_passage)
    app = standin.app()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

"""`LLMClient`: chat completions from any OpenAI-compatible server (vLLM, llama.cpp, a gateway).

Several replicas (`base_url` with commas) are used in turn. A replica that cannot be reached
or answers 5xx before any content is skipped for a while and the next one is asked, within the
same time budget; otherwise no retries: a failed or slow answer falls back to an extractive one
at once instead. Closing a stream (the client went away) closes the upstream connection, which
makes vLLM abort the request and free its slot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any

import httpx

from core.errors import UpstreamError, UpstreamTimeout
from core.llm.replicas import Replicas, split_urls
from core.llm.settings import LLMSettings

Message = dict[str, str]


class _ReplicaDown(Exception):
    """This replica could not serve the request; another may."""


class LLMClient:
    """Talks to `POST {base_url}/chat/completions` with one configured model name."""

    def __init__(self, settings: LLMSettings, *, model: Callable[[], str] | None = None) -> None:
        """`model` names the model per request (the alias's target); default settings.model."""
        urls = split_urls(settings.base_url)
        if not urls:
            raise ValueError("LLMClient needs settings.base_url")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        self._model = model or (lambda: settings.model)
        self._settings = settings
        self.replicas = Replicas(urls, cooldown_s=settings.replica_cooldown_s)
        self._http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
        )

    @property
    def model(self) -> str:
        """The model name the next request will ask for."""
        return self._model()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> str:
        """The whole answer; UpstreamTimeout after `timeout_s` in all, UpstreamError else."""
        body = self._body(messages, max_tokens, temperature, stream=False)
        failures: list[str] = []
        try:
            async with asyncio.timeout(self._settings.timeout_s):
                for url in self.replicas.order():
                    try:
                        response = await self._post(url, body)
                    except _ReplicaDown as exc:
                        failures.append(str(exc))
                        continue
                    break
                else:
                    raise _unreachable(failures)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamTimeout(self._late()) from exc
        try:
            content = _checked(response).json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise UpstreamError("the LLM server sent no answer message") from exc
        return str(content or "")

    async def _post(self, url: str, body: dict[str, Any]) -> httpx.Response:
        """One replica's answer; _ReplicaDown (and the replica set aside) when it has none."""
        try:
            response = await self._http.post(f"{url}/chat/completions", json=body)
        except httpx.TimeoutException:
            self.replicas.failed(url)
            raise
        except httpx.HTTPError as exc:
            self.replicas.failed(url)
            raise _ReplicaDown(_no_connection(url, exc)) from exc
        if response.status_code >= 500:
            self.replicas.failed(url)
            raise _ReplicaDown(_failed(response))
        self.replicas.succeeded(url)
        return response

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[str]:
        """The answer's content deltas as they come; `timeout_s` bounds each wait."""
        body = self._body(messages, max_tokens, temperature, stream=True)
        failures: list[str] = []
        for url in self.replicas.order():
            try:
                async for piece in self._stream_from(url, body):
                    yield piece
                return
            except _ReplicaDown as exc:
                failures.append(str(exc))
        raise _unreachable(failures)

    async def _stream_from(self, url: str, body: dict[str, Any]) -> AsyncIterator[str]:
        """One replica's deltas; _ReplicaDown only while it has sent nothing."""
        started = False
        try:
            async with self._http.stream("POST", f"{url}/chat/completions", json=body) as response:
                if not response.is_success:
                    await response.aread()
                    if response.status_code >= 500:
                        raise _ReplicaDown(_failed(response))
                    _checked(response)
                self.replicas.succeeded(url)
                async for line in response.aiter_lines():
                    data = line[5:].strip() if line.startswith("data:") else ""
                    if data == "[DONE]":
                        return
                    if piece := _delta(data):
                        started = True
                        yield piece
        except _ReplicaDown:
            self.replicas.failed(url)
            raise
        except httpx.TimeoutException as exc:
            self.replicas.failed(url)
            raise UpstreamTimeout(self._late()) from exc
        except httpx.HTTPError as exc:
            self.replicas.failed(url)
            if started:
                raise UpstreamError(f"the LLM server failed mid-answer: {exc!r}") from exc
            raise _ReplicaDown(_no_connection(url, exc)) from exc

    def _body(
        self,
        messages: Sequence[Message],
        max_tokens: int | None,
        temperature: float | None,
        *,
        stream: bool,
    ) -> dict[str, Any]:
        s = self._settings
        return {
            "model": self._model(), "messages": list(messages), "stream": stream,
            "max_tokens": max_tokens or s.max_tokens,
            "temperature": s.temperature if temperature is None else temperature,
        }  # fmt: skip

    def _late(self) -> str:
        return f"the LLM server did not answer within {self._settings.timeout_s:g} s"


def _delta(data: str) -> str:
    """The content of one streamed chunk ('' for keep-alives and role-only chunks)."""
    if not data:
        return ""
    try:
        chunk = json.loads(data)
    except ValueError as exc:
        raise UpstreamError(f"the LLM server sent an unreadable event: {data[:200]}") from exc
    if isinstance(chunk, dict) and chunk.get("error"):
        raise UpstreamError(f"the LLM server failed mid-answer: {str(chunk['error'])[:300]}")
    try:
        content = chunk["choices"][0]["delta"].get("content") if chunk["choices"] else None
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UpstreamError(f"the LLM server sent an unexpected event: {data[:200]}") from exc
    return str(content or "")


def _unreachable(failures: list[str]) -> UpstreamError:
    """Every replica failed: what each said, in the order they were tried."""
    return UpstreamError("; ".join(failures))


def _no_connection(url: str, exc: httpx.HTTPError) -> str:
    return f"the LLM server could not be reached at {url}: {exc!r}"


def _failed(response: httpx.Response) -> str:
    return f"the LLM server answered {response.status_code}: {response.text[:300]}".strip()


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    raise UpstreamError(_failed(response))

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
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx

from core.errors import UpstreamError, UpstreamTimeout
from core.llm.replicas import Replicas, split_urls
from core.llm.settings import LLMSettings
from core.observability.context import outgoing_headers
from core.observability.metrics import LLM_DURATION, LLM_ERRORS, LLM_TOKENS, LLM_TTFT

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
        with _measured(body["model"]):
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
                answer = _checked(response).json()
                content = answer["choices"][0]["message"]["content"]
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise UpstreamError("the LLM server sent no answer message") from exc
            _count_usage(body["model"], answer)
        return str(content or "")

    async def _post(self, url: str, body: dict[str, Any]) -> httpx.Response:
        """One replica's answer; _ReplicaDown (and the replica set aside) when it has none."""
        try:
            response = await self._http.post(
                f"{url}/chat/completions", json=body, headers=outgoing_headers()
            )
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
        model, started = body["model"], time.perf_counter()
        failures: list[str] = []
        with _measured(model):
            for url in self.replicas.order():
                try:
                    async for piece in self._stream_from(url, body, started):
                        yield piece
                    return
                except _ReplicaDown as exc:
                    failures.append(str(exc))
            raise _unreachable(failures)

    async def _stream_from(
        self, url: str, body: dict[str, Any], started: float
    ) -> AsyncIterator[str]:
        """One replica's deltas; _ReplicaDown only while it has sent nothing."""
        model, first = body["model"], True
        try:
            async with self._http.stream(
                "POST", f"{url}/chat/completions", json=body, headers=outgoing_headers()
            ) as response:
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
                    piece, chunk = _delta(data)
                    _count_usage(model, chunk)
                    if piece:
                        if first:
                            LLM_TTFT.labels(model).observe(time.perf_counter() - started)
                            first = False
                        yield piece
        except _ReplicaDown:
            self.replicas.failed(url)
            raise
        except httpx.TimeoutException as exc:
            self.replicas.failed(url)
            raise UpstreamTimeout(self._late()) from exc
        except httpx.HTTPError as exc:
            self.replicas.failed(url)
            if not first:
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
        body = {
            "model": self._model(), "messages": list(messages), "stream": stream,
            "max_tokens": max_tokens or s.max_tokens,
            "temperature": s.temperature if temperature is None else temperature,
        }  # fmt: skip
        if stream:
            # The usage (token counts) comes in a last chunk only when asked for.
            body["stream_options"] = {"include_usage": True}
        return body

    def _late(self) -> str:
        return f"the LLM server did not answer within {self._settings.timeout_s:g} s"


@contextmanager
def _measured(model: str) -> Iterator[None]:
    """Time a request to the LLM and count it as an error if it raises."""
    started = time.perf_counter()
    try:
        yield
    except UpstreamTimeout:
        LLM_ERRORS.labels(model, "timeout").inc()
        raise
    except UpstreamError:
        LLM_ERRORS.labels(model, "error").inc()
        raise
    finally:
        LLM_DURATION.labels(model).observe(time.perf_counter() - started)


def _count_usage(model: str, answer: object) -> None:
    """Count the tokens of an answer (or a stream's last chunk) that reports its usage."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    if not isinstance(usage, dict):
        return
    for kind in ("prompt", "completion"):
        if isinstance(tokens := usage.get(f"{kind}_tokens"), int) and tokens > 0:
            LLM_TOKENS.labels(model, kind).inc(tokens)


def _delta(data: str) -> tuple[str, object]:
    """One streamed chunk's content ('' for keep-alives, role-only and usage chunks) and data."""
    if not data:
        return "", None
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
    return str(content or ""), chunk


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

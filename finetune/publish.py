"""What a promotion talks to: vLLM's runtime LoRA endpoints and the answer service's alias.

vLLM (started with `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`) loads an adapter under a name
with `POST /v1/load_lora_adapter` and forgets it with `POST /v1/unload_lora_adapter`; loaded
adapters are listed by `GET /v1/models` with the base model as `parent`. vLLM answers 400
when the name is already loaded, 404 when the path holds no adapter or, on unload, when the
name is unknown. Every replica of a fleet gets the same adapters. The answer service's
`GET`/`PUT /v1/model-alias` says and sets which model name its answers ask vLLM for. Every
failure becomes UpstreamError naming the server.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from pydantic import BaseModel

from core.errors import ConfigurationError, UpstreamError, UpstreamTimeout
from core.llm.replicas import split_urls
from finetune.settings import AnswerServiceSettings, VllmSettings

logger = logging.getLogger(__name__)


class _Http:
    """A JSON client that turns transport failures and error statuses into UpstreamError."""

    def __init__(self, name: str, url: str, timeout_s: float, token: str | None = None) -> None:
        self._name, self._url = name, url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(timeout=timeout_s, headers=headers, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        """The response when it succeeds or its status is in `ok`; UpstreamError otherwise."""
        where = f"{self._name} at {self._url}/{path}"
        try:
            response = self._http.request(method, f"{self._url}/{path}", json=body)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"{where}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{where}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success and response.status_code not in ok:
            raise UpstreamError(f"{where}: HTTP {response.status_code}: {_reason(response)}")
        return response


class VllmAdapters:
    """Loads, lists and unloads LoRA adapters on every vLLM replica, all or none.

    Several replicas (the URL setting with commas) must serve the same adapters: a load that
    fails on one replica is undone on those this call loaded, so no replica serves a name the
    others lack. Unloading goes to every replica, even after one failed, then reports.
    """

    def __init__(self, settings: VllmSettings) -> None:
        urls = split_urls(settings.url)
        if not urls:
            raise ConfigurationError("no vLLM server is configured: set KB_FINETUNE_VLLM__URL")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        self._servers = [_Http("vLLM", url, settings.timeout_s, key) for url in urls]

    def close(self) -> None:
        for server in self._servers:
            server.close()

    def loaded(self) -> dict[str, str]:
        """Each adapter loaded on any replica, with the path it was loaded from."""
        names: dict[str, str] = {}
        for server in self._servers:
            names |= _loaded(server)
        return names

    def load(self, name: str, path: str) -> None:
        """Load the adapter folder `path` (as vLLM sees it) under `name` on every replica."""
        self._load_where_missing(name, path, everywhere=True)

    def unload(self, name: str) -> bool:
        """Unload `name` everywhere; False when no replica had it (404 from each)."""
        found, failures = False, []
        for server in self._servers:
            try:
                found |= _unload(server, name)
            except UpstreamError as exc:
                failures.append(exc.message)
        if failures:
            raise UpstreamError("; ".join(failures))
        return found

    def ensure_loaded(self, name: str, path: str) -> bool:
        """Load `name` on each replica that lacks it; True when this call loaded it anywhere."""
        return self._load_where_missing(name, path, everywhere=False)

    def _load_where_missing(self, name: str, path: str, *, everywhere: bool) -> bool:
        done: list[_Http] = []
        try:
            for server in self._servers:
                if everywhere or name not in _loaded(server):
                    server.call("POST", "load_lora_adapter", {"lora_name": name, "lora_path": path})
                    done.append(server)
        except BaseException:
            for server in done:  # all or none: take it back where it went in
                try:
                    _unload(server, name)
                except UpstreamError as exc:
                    logger.error("could not unload %s again: %s", name, exc.message)
            raise
        return bool(done)


def _loaded(server: _Http) -> dict[str, str]:
    response = server.call("GET", "models")
    try:
        cards = response.json()["data"]
        return {c["id"]: c.get("root") or "" for c in cards if c.get("parent")}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UpstreamError(f"vLLM's model list is unreadable: {exc!r}") from exc


def _unload(server: _Http, name: str) -> bool:
    response = server.call("POST", "unload_lora_adapter", {"lora_name": name}, ok=(404,))
    return response.is_success


class Alias(BaseModel):
    """`GET /v1/model-alias`: the configured model name and the name answers use now."""

    alias: str
    model: str

    @property
    def target(self) -> str | None:
        """What to PUT to point it here again: None when it points at itself (the base)."""
        return None if self.model == self.alias else self.model


class AliasClient:
    """Reads and re-points the answer service's model alias."""

    def __init__(self, settings: AnswerServiceSettings) -> None:
        key = settings.api_key.get_secret_value() if settings.api_key else None
        url = f"{settings.url.rstrip('/')}/v1"
        self._http = _Http("answer service", url, settings.timeout_s, key)

    def close(self) -> None:
        self._http.close()

    def get(self) -> Alias:
        """Where the alias points now."""
        return self._parse(self._http.call("GET", "model-alias"))

    def set(self, model: str | None) -> Alias:
        """Point the alias at `model`; None points it back at the configured base name."""
        return self._parse(self._http.call("PUT", "model-alias", {"model": model}))

    @staticmethod
    def _parse(response: httpx.Response) -> Alias:
        try:
            return Alias.model_validate_json(response.content)
        except ValueError as exc:
            raise UpstreamError(f"the answer service's model alias is unreadable: {exc}") from exc


def _reason(response: httpx.Response) -> str:
    """The message of an OpenAI error envelope (vLLM's, ours), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else None
    return str(message or response.text[:300])

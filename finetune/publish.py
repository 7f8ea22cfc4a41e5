"""What a promotion talks to: vLLM's runtime LoRA endpoints and the answer service's alias.

vLLM (started with `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`) loads an adapter under a name
with `POST /v1/load_lora_adapter` and forgets it with `POST /v1/unload_lora_adapter`; loaded
adapters are listed by `GET /v1/models` with the base model as `parent`. vLLM answers 400
when the name is already loaded, 404 when the path holds no adapter or, on unload, when the
name is unknown. The answer service's `GET`/`PUT /v1/model-alias` says and sets which model
name its answers ask vLLM for. Every failure becomes UpstreamError naming the server.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from core.errors import ConfigurationError, UpstreamError, UpstreamTimeout
from finetune.settings import AnswerServiceSettings, VllmSettings


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
    """Loads, lists and unloads LoRA adapters on a running vLLM server."""

    def __init__(self, settings: VllmSettings) -> None:
        if not settings.url:
            raise ConfigurationError("no vLLM server is configured: set KB_FINETUNE_VLLM__URL")
        key = settings.api_key.get_secret_value() if settings.api_key else None
        self._http = _Http("vLLM", settings.url, settings.timeout_s, key)

    def close(self) -> None:
        self._http.close()

    def loaded(self) -> dict[str, str]:
        """Each loaded adapter's name and the path it was loaded from."""
        response = self._http.call("GET", "models")
        try:
            cards = response.json()["data"]
            return {c["id"]: c.get("root") or "" for c in cards if c.get("parent")}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UpstreamError(f"vLLM's model list is unreadable: {exc!r}") from exc

    def load(self, name: str, path: str) -> None:
        """Load the adapter folder `path` (as vLLM sees it) under `name`."""
        self._http.call("POST", "load_lora_adapter", {"lora_name": name, "lora_path": path})

    def unload(self, name: str) -> bool:
        """Unload `name`; False when vLLM did not have it (404)."""
        response = self._http.call("POST", "unload_lora_adapter", {"lora_name": name}, ok=(404,))
        return response.is_success

    def ensure_loaded(self, name: str, path: str) -> bool:
        """Load `name` unless vLLM has it already; True when this call loaded it."""
        if name in self.loaded():
            return False
        self.load(name, path)
        return True


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

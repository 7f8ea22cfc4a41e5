"""`KeySet`: the provider's signing keys, cached, fetched again on an unknown key id."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx

from core.errors import InvalidToken, UpstreamError
from core.oidc.settings import OidcSettings

logger = logging.getLogger(__name__)

DISCOVERY = "/.well-known/openid-configuration"


class KeySet:
    """JWKs by key id; public signing keys only (symmetric `oct` keys are dropped)."""

    def __init__(self, settings: OidcSettings, http: httpx.AsyncClient) -> None:
        self._settings, self._http = settings, http
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = float("-inf")
        self._jwks_url = settings.jwks_url
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None) -> dict[str, Any]:
        """The JWK for `kid`; InvalidToken when the provider does not publish it."""
        if self._stale() or not self._has(kid):
            async with self._lock:  # one fetch for many requests arriving together
                if self._stale() or (not self._has(kid) and self._may_refresh()):
                    await self._fetch()
        if kid is None:
            if len(self._keys) != 1:
                raise InvalidToken("token without kid, and the provider has several keys")
            return next(iter(self._keys.values()))
        if kid not in self._keys:
            raise InvalidToken(f"unknown key id {kid!r}")
        return self._keys[kid]

    def _has(self, kid: str | None) -> bool:
        return kid in self._keys if kid is not None else len(self._keys) == 1

    def _stale(self) -> bool:
        return time.monotonic() - self._fetched_at > self._settings.jwks_ttl_s

    def _may_refresh(self) -> bool:
        return time.monotonic() - self._fetched_at >= self._settings.refresh_min_interval_s

    async def _fetch(self) -> None:
        url = self._jwks_url or await self._discover()
        document = await self._get_json(url)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise UpstreamError(f"the JWKS at {url} has no key list")
        self._keys = {
            str(k.get("kid", "")): k
            for k in keys
            if isinstance(k, dict) and k.get("kty") != "oct" and k.get("use", "sig") == "sig"
        }
        self._fetched_at = time.monotonic()
        self.fetches += 1
        logger.info("OIDC: %d signing keys from %s", len(self._keys), url)

    async def _discover(self) -> str:
        issuer = str(self._settings.issuer).rstrip("/")
        document = await self._get_json(issuer + DISCOVERY)
        if document.get("issuer") != self._settings.issuer:
            raise UpstreamError(
                f"the provider's discovery document names issuer {document.get('issuer')!r}, "
                f"not {self._settings.issuer!r}"
            )
        self._jwks_url = str(document["jwks_uri"])
        return self._jwks_url

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, timeout=self._settings.timeout_s)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(f"the identity provider at {url} failed: {exc}") from exc
        if not isinstance(document, dict):
            raise UpstreamError(f"the identity provider at {url} sent no JSON object")
        return document

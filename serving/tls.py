"""HTTPS served by uvicorn itself when a certificate and key are configured (`KB_TLS__*`).

TLS 1.2 is the minimum and 1.3 is negotiated whenever the client offers it (OpenSSL picks the
highest common version). Compose deployments terminate TLS at their reverse proxy instead;
this is for a single host without one.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import BaseModel, Field, SecretStr, model_validator


class TlsSettings(BaseModel):
    """The server's certificate chain and private key, both PEM files."""

    certfile: Path | None = Field(
        None, description="Certificate chain (PEM, server certificate first); unset: HTTP."
    )
    keyfile: Path | None = Field(None, description="The certificate's private key (PEM).")
    keyfile_password: SecretStr | None = Field(
        None, description="Password of an encrypted private key."
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> TlsSettings:
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("set both KB_TLS__CERTFILE and KB_TLS__KEYFILE, or neither")
        return self

    @property
    def enabled(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self.certfile is not None


def server_context(tls: TlsSettings) -> ssl.SSLContext:
    """A server context: the configured chain, TLS 1.2 or newer, no compression or renegotiation."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    password = tls.keyfile_password.get_secret_value() if tls.keyfile_password else None
    context.load_cert_chain(str(tls.certfile), str(tls.keyfile), password)
    return context


def server_config(
    app: Any, host: str, port: int, tls: TlsSettings, **options: Any
) -> uvicorn.Config:
    """Uvicorn's configuration for `app`, with HTTPS when `tls` is enabled."""
    factory: Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext] | None = None
    if tls.enabled:

        def factory(_: uvicorn.Config, __: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
            return server_context(tls)

    return uvicorn.Config(
        app, host=host, port=port, ssl_certfile=tls.certfile, ssl_keyfile=tls.keyfile,
        ssl_context_factory=factory, **options,
    )  # fmt: skip

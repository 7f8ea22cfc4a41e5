"""`kb serve` over HTTPS: certificates from a throwaway CA (trustme), the real openai SDK.

The app runs on an empty data folder with the configuration `kb serve` builds
(`serving.tls.server_config`), under uvicorn in a thread.
"""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import trustme
import uvicorn

from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from serving.tls import TlsSettings, server_config
from tests.support.server import free_port


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:
        pass


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https(ca, tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(folder / "cert.pem"), append=True)
    port = free_port()
    tls = {"certfile": folder / "cert.pem", "keyfile": folder / "key.pem"}
    settings = ServingSettings(port=port, tls=tls)
    assert settings.local_url == f"https://127.0.0.1:{port}"
    app = create_app(settings, IngestSettings(data_dir=folder / "data"), embedder=embedder)
    config = server_config(app, "127.0.0.1", port, settings.tls, log_level="warning")
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started:
        assert thread.is_alive(), "the HTTPS server failed to start"
        started.wait(0.01)
    try:
        yield settings.local_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def negotiated(url: str, context: ssl.SSLContext) -> str | None:
    port = int(url.rsplit(":", 1)[1])
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        return tls.version()


def test_the_openai_sdk_talks_https_to_kb(https, ca):
    # The SDK's own HTTP client class, trusting the test CA (as a deployment's clients would).
    with openai.DefaultHttpxClient(verify=client_context(ca)) as http:
        client = openai.OpenAI(base_url=f"{https}/v1", api_key="unused", http_client=http)
        assert client.models.list().data == []
    with httpx.Client(verify=client_context(ca)) as plain:
        assert plain.get(f"{https}/healthz").status_code == 200


def test_tls_13_is_preferred_and_12_still_accepted(https, ca):
    assert negotiated(https, client_context(ca)) == "TLSv1.3"
    older = client_context(ca)
    older.maximum_version = ssl.TLSVersion.TLSv1_2
    assert negotiated(https, older) == "TLSv1.2"


def test_tls_11_and_plain_http_are_refused(https, ca):
    legacy = client_context(ca)
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        legacy.minimum_version = legacy.maximum_version = ssl.TLSVersion.TLSv1_1
    legacy.set_ciphers("DEFAULT:@SECLEVEL=0")
    # The server's refusal after the client's hello: an alert, or (asyncio's TLS) a hang-up.
    # A client that refused by itself would say NO_PROTOCOLS_AVAILABLE instead.
    with pytest.raises(ssl.SSLError, match=r"PROTOCOL_VERSION|UNEXPECTED_EOF"):
        negotiated(https, legacy)
    with pytest.raises(httpx.HTTPError):
        httpx.get(https.replace("https://", "http://") + "/healthz", timeout=5)


def test_a_client_that_does_not_trust_the_ca_is_refused(https):
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{https}/healthz")


def test_the_server_context_never_goes_below_tls_12(tmp_path: Path, ca):
    cert = ca.issue_cert("localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "both.pem"))
    tls = TlsSettings(certfile=tmp_path / "both.pem", keyfile=tmp_path / "both.pem")
    from serving.tls import server_context

    assert server_context(tls).minimum_version == ssl.TLSVersion.TLSv1_2
    with pytest.raises(ValueError, match="both"):
        TlsSettings(certfile=tmp_path / "both.pem")

"""One error tree for every service, rendered once as the OpenAI error envelope.

    RagError                      500 internal_error
    ├── InvalidRequest            400 invalid_request_error
    │   ├── UnsafeUrl             a URL the SSRF guard refuses
    │   └── PayloadTooLarge       413 an upload over the per-request file count or size
    ├── Unauthorized              401 authentication_error: no, unknown, expired or revoked key
    │   └── InvalidToken          an OIDC bearer token that does not verify (one message for all)
    ├── Forbidden                 403 permission_error: known caller, not allowed to do this
    ├── NotFound                  404 not_found_error (also: a knowledge base one may not read)
    ├── TooManyRequests           429 rate_limit_error: the caller's own limits (Retry-After)
    ├── Conflict                  409 conflict_error
    ├── DataFolderBusy            409 data folder owned by another process
    ├── LeaseLost                 409 another worker took over this worker's job
    ├── DocumentError             422 one file could not be ingested (reason code below)
    │   ├── FileMissing           the path does not exist
    │   ├── EmptyFile             zero bytes
    │   ├── FileTooLarge          over the configured size limit
    │   ├── UnsupportedFormat     no parser for this type
    │   ├── EncryptedDocument     password protected
    │   ├── CorruptDocument       the parser could not read it
    │   ├── UnsafeArchive         a zip container that would decompress too far
    │   ├── NoTextLayer           no extractable text: needs OCR
    │   ├── ParserTimeout         a native parser ran past its time limit (its worker killed)
    │   └── ParserCrashed         a native parser's worker process died on this file
    ├── UpstreamError             502 an upstream server (Tika, Qdrant, an LLM, an engine) failed
    │   ├── UpstreamTimeout       504 it did not answer in time
    │   └── RateLimited           429 it (or our own limit for it) refuses more requests for now
    └── ConfigurationError        raised at start-up, never mapped to HTTP

Each class carries its HTTP status and OpenAI error `type`; messages are written for people.
"""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class RagError(Exception):
    """Base of every error this project raises on purpose."""

    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "internal_error"
    code: ClassVar[str | None] = None  # the envelope's `code`, as OpenAI's errors carry one

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidRequest(RagError):
    """The request is well-formed JSON but asks for something impossible."""

    status_code = 400
    error_type = "invalid_request_error"


class UnsafeUrl(InvalidRequest):
    """A URL the SSRF guard refuses: its scheme, port, user info or an address it resolves to."""


class PayloadTooLarge(InvalidRequest):
    """An upload with more files or bytes than one request may carry."""

    status_code = 413


class Unauthorized(RagError):
    """No credentials, or credentials that name nobody (unknown, expired, revoked)."""

    status_code = 401
    error_type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(RagError):
    """The caller is known but its key's scopes or its grants do not allow this."""

    status_code = 403
    error_type = "permission_error"
    code = "insufficient_permissions"


class TooManyRequests(RagError):
    """The caller is over its own request rate or concurrent-answer limit."""

    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class InvalidToken(Unauthorized):
    """A bearer token that does not verify; `reason` is for logs, never for the caller.

    Every failure reads the same to the caller, so that a probe learns nothing about which
    check failed (signature, issuer, audience, expiry, key).
    """

    code = "invalid_token"

    def __init__(self, reason: str) -> None:
        super().__init__("invalid bearer token")
        self.reason = reason


class NotFound(RagError):
    """A knowledge base, document or job that does not exist."""

    status_code = 404
    error_type = "not_found_error"


class Conflict(RagError):
    """The resource already exists or is in a state that forbids the change."""

    status_code = 409
    error_type = "conflict_error"


class DataFolderBusy(Conflict):
    """Another process owns the data folder (its PID and server URL when known)."""

    def __init__(self, message: str, *, pid: int | None, server_url: str | None) -> None:
        super().__init__(message)
        self.pid = pid
        self.server_url = server_url


class LeaseLost(Conflict):
    """A worker's lease on a job ran out and another worker took the job over."""


class DocumentError(RagError):
    """One file could not be ingested; the rest of the batch carries on."""

    status_code = 422
    error_type = "document_error"
    reason: ClassVar[str] = "unreadable"


class FileMissing(DocumentError):
    """The path does not exist or is not a regular file."""

    reason = "missing"


class EmptyFile(DocumentError):
    """The file has zero bytes."""

    reason = "empty"


class FileTooLarge(DocumentError):
    """The file is over the configured size limit."""

    reason = "too_large"


class UnsupportedFormat(DocumentError):
    """No configured parser reads this type."""

    reason = "unsupported"


class EncryptedDocument(DocumentError):
    """The document is password protected."""

    reason = "encrypted"


class CorruptDocument(DocumentError):
    """The parser could not read the file."""

    reason = "corrupt"


class UnsafeArchive(DocumentError):
    """A zip-based file whose decompressed size or ratio is over the limits."""

    reason = "unsafe_archive"


class NoTextLayer(DocumentError):
    """The document has no extractable text (a scan): it needs OCR."""

    reason = "no_text"


class ParserTimeout(DocumentError):
    """A native parser (in its worker process) ran past its time limit on this file."""

    reason = "timeout"


class ParserCrashed(DocumentError):
    """A native parser's worker process died (a crash in native code) on this file."""

    reason = "crashed"


class UpstreamError(RagError):
    """An upstream server failed; keeps its name, status and the start of its body."""

    status_code = 502
    error_type = "upstream_error"


class UpstreamTimeout(UpstreamError):
    """An upstream server did not answer in time."""

    status_code = 504
    error_type = "upstream_timeout"


class RateLimited(UpstreamError):
    """An upstream server answered 429, or our own rate limit for it is exhausted."""

    status_code = 429
    error_type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ConfigurationError(RagError):
    """The settings cannot work; raised at start-up."""


def error_body(
    message: str, error_type: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The OpenAI error envelope, so that OpenAI clients show our errors properly."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


def _headers(exc: RagError) -> dict[str, str] | None:
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    retry_after = getattr(exc, "retry_after_s", None)
    if exc.status_code == 429 and retry_after is not None:
        return {"Retry-After": str(max(1, math.ceil(retry_after)))}
    return None


def install_error_handlers(app: FastAPI) -> None:
    """Render every RagError, validation error and HTTP error as the OpenAI envelope."""

    @app.exception_handler(RagError)
    async def _rag_error(_: Request, exc: RagError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.error("request failed: %s", exc.message)
        return JSONResponse(
            error_body(exc.message, exc.error_type, exc.param, exc.code),
            status_code=exc.status_code,
            headers=_headers(exc),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return JSONResponse(
            error_body(message, "invalid_request_error", where or None), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return JSONResponse(
            error_body(str(exc.detail), kind), status_code=exc.status_code, headers=exc.headers
        )

"""Errors as Qdrant reports them: an HTTP status and its `StorageError` message.

Qdrant renders every `StorageError` as `{"status": {"error": "<message>"}, "time": ...}` with
the status from `src/actix/helpers.rs` (`impl ResponseError for HttpError`); the message
prefixes below are the `Display` strings of `lib/storage/src/content_manager/errors.rs`.
"""

from __future__ import annotations


class QdrantError(Exception):
    """A failed request: `status` is the HTTP status, `message` Qdrant's error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(description: str) -> QdrantError:
    return QdrantError(404, f"Not found: {description}")


def wrong_input(description: str) -> QdrantError:
    return QdrantError(400, f"Wrong input: {description}")


def already_exists(description: str) -> QdrantError:
    # AlreadyExists displays as "Wrong input: ..." but answers 409.
    return QdrantError(409, f"Wrong input: {description}")


def unsupported(what: str) -> QdrantError:
    """A valid Qdrant request that this stand-in does not implement (400, so nothing hides it)."""
    return QdrantError(400, f"Bad request: {what} is not supported by the loopback stand-in")


def internal(description: str) -> QdrantError:
    return QdrantError(500, f"Service internal error: {description}")


def missing_collection(name: str) -> QdrantError:
    return not_found(f"Collection `{name}` doesn't exist!")


def from_edge(exc: Exception) -> QdrantError:
    """Map a Qdrant Edge failure: Edge raises bare Exception/ValueError with Qdrant's own text."""
    message = str(exc)
    if message.startswith("Service runtime error"):
        return internal(message)
    return wrong_input(message)

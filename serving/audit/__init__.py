"""The audit recorder (an ASGI middleware) and `GET /v1/audit`, over `core.audit`."""

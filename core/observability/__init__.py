"""Observability every service shares: Prometheus metrics, request ids, JSON logs, readiness.

`metrics` is the one catalogue of metric names; `http.instrument(app, ...)` gives an app its
request metrics, `X-Request-ID` handling, `GET /metrics` and `GET /readyz`; `logs` formats
log records as JSON lines carrying the request id; `ready` holds the dependency checks.
"""

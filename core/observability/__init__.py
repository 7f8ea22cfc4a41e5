"""Observability every service shares: Prometheus metrics, request ids, JSON logs, readiness.

`metrics` is the one catalogue of metric names; `http.instrument(app, ...)` gives an app its
request metrics, `X-Request-ID` handling, `GET /metrics` and `GET /readyz`, and
`http.serve_metrics(port)` serves `/metrics` for a process without an HTTP API; `context`
holds the request id; `logs` formats log records as JSON lines carrying it; `ready` holds the
dependency checks.
"""

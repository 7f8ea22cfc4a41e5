"""Services mode: our processes sharing PostgreSQL, Redis and a Qdrant server."""

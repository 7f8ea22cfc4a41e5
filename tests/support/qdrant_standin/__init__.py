"""A loopback stand-in for a Qdrant server: the REST API `QdrantClientStore` uses, over Edge.

No Qdrant server can run on the development machines, so tests that need one shared vector
store across processes (API replicas, ingest workers) talk to this: a Starlette app that
answers the part of Qdrant's REST API we use (collections, payload indexes, upsert, delete by
filter, count, scroll, query with prefetch and fusion), backed by the real Qdrant engine
(Qdrant Edge) on disk, so query semantics are Qdrant's own and data survives a restart.

Run it with `python -m tests.support.qdrant_standin --port N --path DIR`, or from tests with
`QdrantStandinProcess` (a subprocess on a free port, ready when it returns).
"""

from tests.support.qdrant_standin.app import create_qdrant_standin
from tests.support.qdrant_standin.process import QdrantStandinProcess

__all__ = ["QdrantStandinProcess", "create_qdrant_standin"]

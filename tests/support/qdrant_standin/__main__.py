"""`python -m tests.support.qdrant_standin --host H --port N --path DIR [--api-key KEY]`.

Binds the socket before serving and prints the URL as its first line of output, so
`--port 0` picks a free port without the race of choosing one first.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import uvicorn

from tests.support.qdrant_standin.app import create_qdrant_standin


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.qdrant_standin",
        description="A loopback Qdrant REST server stand-in, backed by Qdrant Edge on disk.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6333, help="0 picks a free port")
    parser.add_argument("--path", type=Path, required=True, help="folder for the collections")
    parser.add_argument("--api-key", default=None, help="require this key (`api-key` header)")
    args = parser.parse_args(argv)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    app = create_qdrant_standin(args.path, api_key=args.api_key)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    sys.stdout.write(f"http://{args.host}:{sock.getsockname()[1]}\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()

"""`python -m ingest serve | worker`: the ingest service (its containers in docker-compose)."""

from ingest.cli import cli

if __name__ == "__main__":
    cli(prog_name="python -m ingest")

"""`python -m serving serve`: the answer service (its container in docker-compose)."""

from serving.cli import cli

cli(prog_name="python -m serving")

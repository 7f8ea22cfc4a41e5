"""`python -m search_proxy serve`: the search proxy on its own (its container in compose)."""

from search_proxy.cli import cli

if __name__ == "__main__":
    cli()

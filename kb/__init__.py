"""The `kb` command line: one entry point over every service.

`kb serve`, `kb ingest`, `kb ask`, `kb search`, `kb eval`, and the services' own groups
(`kb search-proxy`, `kb finetune`). It sits above every other package and nothing imports it;
each command either runs the work in this process or talks to a running server.
"""

"""Search engines behind one protocol: each maps its documented API to `EngineHit`s.

To add an engine: a class with `name`, `settings` and `search()` (see `base.Engine`), a settings
entry in `search_proxy.settings.EnginesSettings`, a line in `registry.ENGINES`, and a stand-in in
`tests/support/search_engines.py` so the contract suite runs it.
"""

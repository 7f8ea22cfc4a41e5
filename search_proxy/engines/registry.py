"""Which engines exist, and building the enabled ones from settings."""

from __future__ import annotations

from collections.abc import Callable

from core.errors import ConfigurationError
from search_proxy.engines.base import Engine
from search_proxy.engines.bocha import BochaEngine
from search_proxy.engines.brave import BraveEngine
from search_proxy.engines.searxng import SearxngEngine
from search_proxy.engines.serper import SerperEngine
from search_proxy.engines.tavily import TavilyEngine
from search_proxy.settings import EngineSettings, EnginesSettings

ENGINES: dict[str, Callable[[EngineSettings], Engine]] = {
    "searxng": SearxngEngine,
    "brave": BraveEngine,
    "tavily": TavilyEngine,
    "bocha": BochaEngine,
    "serper": SerperEngine,
}
KEYLESS = frozenset({"searxng"})


def enabled_engines(settings: EnginesSettings) -> list[Engine]:
    """The engines switched on; an enabled engine that needs a key and has none is an error."""
    engines: list[Engine] = []
    for name, build in ENGINES.items():
        engine_settings: EngineSettings = getattr(settings, name)
        if not engine_settings.enabled:
            continue
        if name not in KEYLESS and engine_settings.api_key is None:
            variable = f"KB_SEARCH_ENGINES__{name.upper()}__API_KEY"
            raise ConfigurationError(f"search engine {name} is enabled but {variable} is not set")
        engines.append(build(engine_settings))
    return engines

"""A deterministic sample news site (modeled on kazpravda.kz) served on loopback for tests,
the demo and benchmarks. ``SampleSite`` renders pages on request; ``serve`` runs it over HTTP.
"""

from .generate import Response, SampleSite
from .server import SiteServer, serve

__all__ = ["Response", "SampleSite", "SiteServer", "serve"]

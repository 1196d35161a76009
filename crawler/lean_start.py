"""An add-on that keeps Scrapy components this crawler has switched off from being imported.

Scrapy imports every component named in its ``*_BASE`` dicts, even those disabled by a
setting, to compare their names. Two of them cost a visible share of a crawl's start: the
remote-control extension imports aiohttp's web server, and the cookies middleware imports
tldextract. Whoever switches either back on (``--set COOKIES_ENABLED=true``,
``REMOTE_CONTROL_ENABLED=true``) gets it back, as Scrapy would have run it.
"""

from __future__ import annotations

# component path -> the setting that switches it on
_OFF_UNLESS = {
    "EXTENSIONS_BASE": {"scrapy.extensions.remote_control.RemoteControl": "REMOTE_CONTROL_ENABLED"},
    "DOWNLOADER_MIDDLEWARES_BASE": {"scrapy.downloadermiddlewares.cookies.CookiesMiddleware": "COOKIES_ENABLED"},
}


class LeanStartAddon:
    def update_settings(self, settings) -> None:
        for base, components in _OFF_UNLESS.items():
            current = settings.getdict(base)
            kept = {path: order for path, order in current.items()
                    if path not in components or settings.getbool(components[path])}
            if len(kept) != len(current):
                settings.set(base, kept, priority="addon")

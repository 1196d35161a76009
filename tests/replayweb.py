"""ReplayWeb.page (npm ``replaywebpage``, pinned) replaying a WACZ in headless Chromium.

ReplayWeb.page is a web app: ``ui.js`` defines the ``<replay-web-page>`` element, ``sw.js``
is the service worker that reads the WACZ and serves the archived pages. Both come from the
pinned npm tarball (``npm pack``, checked against its registry integrity hash), cached in
``.replaywebpage/``. A loopback HTTP server (with Range requests, which ReplayWeb.page uses
to read a WACZ on demand) serves them with one page embedding the archive; Chromium is
driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), and the replayed
text is read through the element's shadow roots and same-origin iframes.

    python tests/replayweb.py fetch      # what `make replayweb` runs; prints the directory
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "2.5.3"
# `npm view replaywebpage@2.5.3 dist.integrity`
INTEGRITY = "sha512-nCj2PSON3BxeSJKE8AsYPyULv0XPZKJWfy4l9PyQre9SqwLZ+WKZVs/sfLqPOQ4GrH+0YkjbwOhr8cSTH08gsQ=="
CACHE = ROOT / ".replaywebpage" / VERSION
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--window-size=1200,900"]

# Every same-origin frame, through every shadow root: its address and its text.
DEEP_TEXT = """(() => {
  const frames = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (el.tagName === 'IFRAME') {
        let doc = null;
        try { doc = el.contentDocument; } catch (e) {}
        if (doc && doc.body) { frames.push([doc.location.href, doc.body.innerText]); walk(doc); }
      }
    }
  };
  walk(document);
  return frames;
})()"""


class Unavailable(RuntimeError):
    """The package or the browser cannot be had here (the reason is the message)."""


def fetch(cache: Path = CACHE) -> Path:
    """The directory holding the pinned ``ui.js`` and ``sw.js``; fetched with npm once."""
    if (cache / "ui.js").exists() and (cache / "sw.js").exists():
        return cache
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed (make replayweb installs it as root)")
    with tempfile.TemporaryDirectory() as work:
        got = subprocess.run([npm, "pack", f"replaywebpage@{VERSION}", "--pack-destination", work, "--silent"],
                             capture_output=True, text=True, timeout=600, cwd=work)
        if got.returncode != 0:
            raise Unavailable(f"npm pack replaywebpage@{VERSION} failed: {got.stderr.strip()[-300:]}")
        tarball = Path(work) / f"replaywebpage-{VERSION}.tgz"
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise RuntimeError(f"replaywebpage-{VERSION}.tgz has integrity {digest}, pinned {INTEGRITY}")
        staging = cache.with_name(cache.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            for name in ("ui.js", "sw.js"):
                (staging / name).write_bytes(tar.extractfile(f"package/{name}").read())
        shutil.rmtree(cache, ignore_errors=True)
        staging.rename(cache)
    return cache


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, with single Range requests (ReplayWeb.page reads a WACZ by ranges)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "application/javascript",
                      ".wacz": "application/wacz+zip"}

    def log_message(self, *args) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def send_head(self):
        spec = self.headers.get("Range", "")
        path = Path(self.translate_path(self.path))
        if not spec.startswith("bytes=") or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, _, last = spec[6:].split(",")[0].partition("-")
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(0, size - int(last)), size - 1
        if start > end:
            self.send_error(416)
            return None
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        return _Bytes(data)


class _Bytes:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, *_):
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        pass


def serve(directory: Path) -> http.server.ThreadingHTTPServer:
    handler = lambda *a, **kw: _Handler(*a, directory=str(directory), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class DevTools:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, binary: str):
        self._to_browser_r, self._to_browser_w = os.pipe()
        self._from_browser_r, self._from_browser_w = os.pipe()
        self.profile = tempfile.mkdtemp(prefix="replayweb-chromium-")
        args = [*FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        # Chromium reads commands on fd 3 and writes replies on fd 4; bash, not sh: dash's
        # redirections take one-digit descriptors only.
        script = f'exec "$0" "$@" 3<&{self._to_browser_r} 4>&{self._from_browser_w}'
        self.proc = subprocess.Popen(["bash", "-c", script, binary, *args], pass_fds=(
            self._to_browser_r, self._from_browser_w), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(self._to_browser_r)
        os.close(self._from_browser_w)
        self._buffer = b""
        self._next_id = 0

    def call(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser_w, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise RuntimeError(f"chromium exited ({self.proc.wait()}): {self.proc.stderr.read().decode()[-1500:]}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            chunk = os.read(self._from_browser_r, 1 << 16)
            if not chunk:
                raise RuntimeError(f"chromium exited: {self.proc.stderr.read().decode()[-1000:]}")
            self._buffer += chunk
        raise TimeoutError(method)

    def open(self, url: str) -> str:
        """A new page at ``url``; its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=session)
        self.call("Page.navigate", {"url": url}, session=session)
        return session

    def evaluate(self, session: str, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return result.get("result", {}).get("value")

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - gone already
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser_w)
        os.close(self._from_browser_r)
        self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>replay</title><script src="replay/ui.js"></script></head>
<body><replay-web-page source="{source}" url="{url}" embed="replayonly"
 style="display:block;width:1100px;height:800px"></replay-web-page></body></html>
"""


def replayed_frames(wacz: Path, url: str, want: str, work: Path, timeout: float = 180) -> list[tuple[str, str]]:
    """``(address, text)`` of the frames ReplayWeb.page shows for ``url`` of ``wacz``, once
    one holds ``want`` (or the last seen when ``timeout`` passes)."""
    binary = find_chromium()
    if binary is None:
        raise Unavailable("no chromium binary (make browser installs Debian's chromium as root)")
    assets = fetch()
    site = work / "site"
    (site / "replay").mkdir(parents=True)
    for name in ("ui.js", "sw.js"):
        shutil.copyfile(assets / name, site / "replay" / name)
    shutil.copyfile(wacz, site / "archive.wacz")
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    (site / "index.html").write_text(_PAGE.format(source=f"{base}/archive.wacz", url=url), encoding="utf-8")
    browser = DevTools(binary)
    frames: list = []
    try:
        session = browser.open(f"{base}/index.html")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frames = [tuple(f) for f in browser.evaluate(session, DEEP_TEXT) or []]
            if any(want in text for _, text in frames):
                break
            time.sleep(1)
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    return frames


if __name__ == "__main__":
    if sys.argv[1:] == ["fetch"]:
        try:
            print(fetch())
        except Unavailable as exc:
            print(f"ReplayWeb.page not fetched: {exc}; its replay test will skip", file=sys.stderr)
    else:
        sys.exit(__doc__)

"""Export a selection of the archive as a WARC file or a WACZ package (``--format warc|wacz``).

Each selected article contributes the response record of the page it was extracted from:

- *captured*: the page has a WARC record (``crawler crawl --warc``, ``crawler import``): its
  bytes are copied as they are, body still in the encoding the server sent;
- *rebuilt*: otherwise, a response record is made from the stored (decoded) body and the
  kept headers. It says so twice: a ``WARC-Rebuilt`` header on the record and a metadata
  record concurrent to it, so nobody mistakes it for what came off the wire.

Rebuilt records take their ids and dates from the archive, and gzip members carry no time,
so exporting the same selection of the same archive again gives the same bytes. A WACZ is
made by the ``wacz`` package from that WARC and a pages index of the selected articles
(``pages/pages.jsonl``: url, timestamp, title), which pywb and ReplayWeb.page list.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .core import Archive
from .manifest import archive_state, file_entry, manifest_path, runtime_versions, software_versions, write_manifest

logger = logging.getLogger(__name__)

FORMATS = ("warc", "wacz")
REBUILT_NOTE = "rebuilt from the archive's stored body and kept headers; not the bytes received"
_ID_NAMESPACE = uuid.UUID("6f1d3c3e-7c55-4c36-9a0e-8f2f4b1f5a10")


@dataclass
class WarcExportResult:
    rows: int = 0
    captured: int = 0
    rebuilt: int = 0
    files: list[str] = field(default_factory=list)
    manifest: str | None = None


def _selection(archive, **filters):
    """The articles to export, in the exports' order (one place to change with archive.export)."""
    from .export import iter_articles

    return iter_articles(archive, **filters)


def _warc_date(iso: str | None) -> str:
    try:
        when = datetime.fromisoformat(iso) if iso else datetime(1970, 1, 1, tzinfo=timezone.utc)
    except ValueError:
        when = datetime(1970, 1, 1, tzinfo=timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_id(*parts) -> str:
    return f"<urn:uuid:{uuid.uuid5(_ID_NAMESPACE, ':'.join(map(str, parts)))}>"


def _captured_bytes(page: dict) -> tuple[bytes, str] | None:
    """The page's response record as stored in its WARC file (one gzip member) and its
    WARC-Date; None if it is gone or unreadable."""
    path, offset, length = page.get("warc_file"), page.get("warc_offset"), page.get("warc_length")
    if not path or offset is None or not length:
        return None
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
    except OSError as exc:
        logger.warning("captured record of page %s unreadable (%s): rebuilding it", page["id"], exc)
        return None
    if len(data) != length:
        logger.warning("captured record of page %s is cut short in %s: rebuilding it", page["id"], path)
        return None
    if not data.startswith(b"\x1f\x8b"):  # from an uncompressed WARC: make it a member of ours
        data = gzip.compress(data, mtime=0)
    try:
        head = gzip.decompress(data)[:4096]
    except (OSError, EOFError) as exc:
        logger.warning("captured record of page %s is not readable gzip (%s): rebuilding it", page["id"], exc)
        return None
    date = re.search(rb"\r\nWARC-Date: *([^\r\n]+)", head)
    if not head.startswith(b"WARC/") or date is None:
        logger.warning("captured record of page %s is not a WARC record: rebuilding it", page["id"])
        return None
    return data, date.group(1).decode("ascii", "replace").strip()


def _rebuilt_records(writer: WARCWriter, page: dict, body: bytes) -> list:
    url = page.get("final_url") or page["url"]
    status = page.get("status") or 200
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    headers = json.loads(page.get("headers") or "{}")
    pairs = [(name.title(), value) for name, value in sorted(headers.items())]
    pairs.append(("Content-Length", str(len(body))))
    http = StatusAndHeaders(f"{status} {reason}".strip(), pairs, protocol="HTTP/1.1")
    date = _warc_date(page.get("fetched_at"))
    resp_id = _record_id("page", page["id"], "response")
    response = writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
        warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": resp_id, "WARC-Rebuilt": REBUILT_NOTE})
    note = (f"rebuilt: true\nnote: {REBUILT_NOTE}\narchive-page-id: {page['id']}\n"
            f"fetched-at: {page.get('fetched_at')}\n").encode("utf-8")
    metadata = writer.create_warc_record(
        url, "metadata", payload=io.BytesIO(note), length=len(note), warc_content_type="application/warc-fields",
        warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": _record_id("page", page["id"], "metadata"),
                           "WARC-Concurrent-To": resp_id})
    return [response, metadata]


def write_warc(archive: Archive, out: str, pages_index: str | None = None, name: str | None = None,
               tick=None, **filters) -> WarcExportResult:
    """Write the response records of the selected articles into the gzip'd WARC ``out``
    (``name``: the file name its warcinfo record gives, by default ``out``'s; ``tick(1)``
    is called after each selected article, written or left out)."""
    result = WarcExportResult()
    name = name or os.path.basename(out)
    db = archive.db
    state = archive_state(db)
    with open(out, "xb") as fh, contextlib.ExitStack() as stack:
        index = None
        if pages_index:
            index = stack.enter_context(open(pages_index, "w", encoding="utf-8"))
            index.write(json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}) + "\n")
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        info = writer.create_warcinfo_record(name, {
            "software": "news-archive-crawler export (warcio)",
            "format": "WARC File Format 1.1",
            "description": "articles selected from a news archive: " + json.dumps(
                {k: v for k, v in sorted(filters.items()) if v is not None}, ensure_ascii=False),
        })
        info.rec_headers.replace_header("WARC-Date", _warc_date(state.get("last_crawl_finished_at")))
        info.rec_headers.replace_header("WARC-Record-ID", _record_id("warcinfo", name))
        writer.write_record(info)
        for article in _selection(archive, **filters):
            if tick is not None:
                tick(1)
            page_id = article.get("page_id")
            page = next(db.query("SELECT * FROM pages WHERE id = ?", [page_id]), None) if page_id else None
            if page is None:
                logger.warning("article %s has no stored page: left out of the WARC", article["id"])
                continue
            captured = _captured_bytes(page)
            if captured is not None:
                data, date = captured
                fh.write(data)
                result.captured += 1
            else:
                date = _warc_date(page.get("fetched_at"))
                body = archive.page_body(page["id"])
                if body is None:
                    logger.warning("page %s has no stored body: article %s left out of the WARC",
                                   page["id"], article["id"])
                    continue
                for record in _rebuilt_records(writer, page, body):
                    writer.write_record(record)
                result.rebuilt += 1
            result.rows += 1
            if index is not None:
                entry = {"id": uuid.uuid5(_ID_NAMESPACE, f"article:{article['id']}").hex,
                         "url": page.get("final_url") or page["url"],
                         # the record's own date: wacz matches pages to records by url and time
                         "ts": date, "title": article.get("title") or ""}
                index.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return result


def export_warc(archive: Archive, fmt: str, out: str, *, manifest: bool | str = True, per_article: bool = False,
                progress: bool = False, workers: int | None = None, **filters) -> WarcExportResult:
    """``crawler export --format warc|wacz``: the selection (``filters`` as for the other
    exports) into ``out``, with a manifest beside it (or at ``manifest``).

    Same call as :func:`archive.export.export_corpus`: ``progress`` is a bar on stderr
    (True) or a ``tick(rows)`` callable (the CLI's status lines off a terminal), advanced
    per selected article; ``workers`` does not apply (one pass copying records)."""
    from .export import _progress
    from .select import count_selected

    if fmt not in FORMATS:
        raise ValueError(f"unknown WARC export format {fmt!r}")
    if per_article:
        raise ValueError(f"--format {fmt} writes one file, not one per article")
    if not isinstance(out, (str, os.PathLike)) or os.fspath(out) == "-":
        raise ValueError(f"--format {fmt} writes a file: give --out a path, not stdout")
    out = os.fspath(out)
    if os.path.exists(out):
        raise FileExistsError(f"{out} exists; the export never overwrites a file")
    total = count_selected(archive, **filters) if progress is True else 0  # the bar needs it first
    with _progress(total, progress) as tick:
        if fmt == "warc":
            staging = out + ".partial"
            try:
                result = write_warc(archive, staging, name=os.path.basename(out), tick=tick, **filters)
                os.replace(staging, out)
            finally:
                if os.path.exists(staging):
                    os.unlink(staging)
        else:
            result = _write_wacz(archive, out, tick=tick, **filters)
    result.files = [out]
    target = manifest_path(out) if manifest is True else (os.fspath(manifest) if manifest else None)
    if target:
        document = {
            "manifest_version": 1,
            "format": fmt,
            "layout": "one file",
            "filters": {k: v for k, v in filters.items()},
            "order": "published_at as text (the publisher's local time), then id; undated articles last",
            "rows": result.rows,
            "records": {"captured": result.captured, "rebuilt": result.rebuilt,
                        "rebuilt_marked_by": "WARC-Rebuilt header and a concurrent metadata record"},
            "files": [file_entry(out, os.path.dirname(os.path.abspath(target)))],
            "archive": {"path": archive.path, **archive_state(archive.db)},
            "software": {"export": {**software_versions(), **runtime_versions()}},
        }
        write_manifest(document, target)
        result.manifest = target
    logger.info("exported %d articles as %s (%d captured, %d rebuilt records)", result.rows, fmt,
                result.captured, result.rebuilt)
    return result


def _write_wacz(archive: Archive, out: str, tick=None, **filters) -> WarcExportResult:
    from wacz.main import main as wacz_main

    stem = os.path.basename(out)
    stem = stem[:-5] if stem.endswith(".wacz") else stem
    with tempfile.TemporaryDirectory(prefix=".wacz-", dir=os.path.dirname(os.path.abspath(out))) as tmp:
        warc = os.path.join(tmp, stem + ".warc.gz")
        pages = os.path.join(tmp, "pages.jsonl")
        result = write_warc(archive, warc, pages_index=pages, tick=tick, **filters)
        staging = os.path.join(tmp, stem + ".wacz")
        chatter = io.StringIO()
        with contextlib.redirect_stdout(chatter):
            code = wacz_main(["create", "-o", staging, "-p", pages, "--title", stem, warc])
        if code != 0 or not os.path.exists(staging):
            raise ValueError(f"wacz could not package the WARC: {chatter.getvalue().strip()[-300:]}")
        unmatched = chatter.getvalue().count("unable to find a match")
        if unmatched:  # a page the index would not list: a bug here, not bad input
            raise ValueError(f"wacz found no record for {unmatched} of the pages index's entries")
        shutil.move(staging, out)
    return result

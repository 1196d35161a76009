"""Build or update an archive from WARC files (``crawler import FILE.warc.gz...``).

Records are read one at a time (warcio), so memory holds at most the pages handed to the
extraction pool at once, whatever the size of a file or a record. Each response goes through
the crawl's own page functions (:func:`page_functions`) in the crawl's worker pool, and is
stored like a crawled page: same dates, same duplicate and near-duplicate links. Results are
stored in file order, with the file's progress in the same transaction, so a killed import
resumes after the last record it finished.

Which responses are article pages: a WARC written by ``crawler crawl --warc`` says so in the
metadata record after each response (role, site); in any other WARC, a response is an
article candidate when its URL looks like one (:meth:`SiteProfile.is_article_url`).

Bad input never stops an import: an unreadable gzip member, a record shorter or longer than
its Content-Length, a revisit or other non-response record, a record over the size limit,
a response that is not HTTP: each is skipped, counted, and written to ``warc_skips`` with
its reason; reading goes on at the next record that can be found.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import time
import zlib
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator

from archive import Archive
from archive import warc_imports as progress_db
from archive.core import select_headers
from archive.manifest import software_versions

from crawler.items import FetchedPage
from crawler.page import CLASSIFIER, NOT_AN_ARTICLE, is_not_article
from crawler.neardup import DEFAULT_THRESHOLD, NearDupIndexer
from crawler.profiles import ProfileError, bundled_profiles, generic_profile
from crawler.workers import WorkerCrashed, WorkerPool, WorkerTimeout, default_size

logger = logging.getLogger(__name__)

DEFAULT_MAX_RECORD = 16 * 1024 * 1024  # the crawl's DOWNLOAD_MAXSIZE
_GZIP_MAGIC = b"\x1f\x8b\x08"
_COMMIT_EVERY = 64  # records per transaction
_COMMIT_SECONDS = 2.0
_REDIRECTS_KEPT = 10_000


def extract_page(page: FetchedPage, profile, classify: str | None = None, sign: bool = True) -> tuple:
    """``(article, encoding, error, prepared)`` for one response: the crawl's task
    (:func:`crawler.archive_prep.extract_and_prepare`, ``classify`` as the crawl passes it for
    a discovery candidate), so the compressed body, the stems and the near-duplicate
    signature are made in the worker, beside the extraction, as in a crawl."""
    from crawler.archive_prep import extract_and_prepare

    result, prepared = extract_and_prepare(page, profile, classify, True, sign)
    return result.article, result.encoding, result.error, prepared


def page_functions():
    """The crawl's pure page functions: ``(check_fetch, extract)``."""
    from crawler.page import check_fetch

    return check_fetch, extract_page


class WarcImportError(RuntimeError):
    """The import could not run at all (no usable file, archive unusable)."""


@dataclass
class _Unit:
    """One finished piece of a file, stored in file order: a page, a skip, or nothing."""

    path: str
    offset: int
    end: int  # where reading resumes once this unit is stored
    length: int = 0  # of the response record alone
    url: str | None = None
    fields: dict | None = None  # the crawl's metadata record about this response
    page: FetchedPage | None = None
    profile: object = None
    problem: str | None = None  # check_fetch's reason: stored as the page's error
    skip: str | None = None  # bad input: a warc_skips row
    count: str | None = None  # a benign non-page, counted only
    future: object = None
    result: tuple | None = None


def _warc_date_iso(value: str | None) -> str:
    if value:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return when.astimezone(timezone.utc).isoformat(timespec="seconds")
        except ValueError:
            pass
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _metadata_fields(record) -> dict[str, str]:
    text = record.content_stream().read(4096).decode("utf-8", "replace")
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    return fields


def _describe(exc: Exception, limit: int = 120) -> str:
    """One short printable line for a reader's exception (its message may quote binary data)."""
    text = "".join(c if c.isprintable() else "?" for c in str(exc))
    text = text if len(text) <= limit else text[:limit] + "..."
    return f"{type(exc).__name__}: {text}"


def _next_member(fh, start: int) -> int | None:
    """Offset of the first gzip member at or after ``start`` that holds a WARC record."""
    fh.seek(start)
    pos = start
    carry = b""
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            return None
        data = carry + chunk
        base = pos - len(carry)
        i = data.find(_GZIP_MAGIC)
        while i != -1:
            fh.seek(base + i)
            head = fh.read(65536)
            try:
                text = zlib.decompressobj(31).decompress(head, 16)
            except zlib.error:
                text = b""
            if text.startswith(b"WARC/"):
                return base + i
            i = data.find(_GZIP_MAGIC, i + 1)
        pos += len(chunk)
        carry = data[-2:]
        fh.seek(pos)


def _one_gzip_stream(fh, limit: int = 64 * 1024 * 1024) -> bool:
    """Whether a gzip'd file is one gzip stream, not a member per record: its first member
    goes on after its first record. A first record over ``limit`` bytes is not followed."""
    fh.seek(0)
    if fh.read(3) != _GZIP_MAGIC:
        return False
    fh.seek(0)
    inflate = zlib.decompressobj(31)
    head, seen, end = b"", 0, None
    data = fh.read(1 << 16)
    while data:
        try:
            out = inflate.decompress(data, 1 << 16)
        except zlib.error:
            return False
        data = inflate.unconsumed_tail
        if end is None:
            head += out
            i = head.find(b"\r\n\r\n")
            if i == -1:
                if len(head) > 65536:
                    return False
            else:
                found = next((line for line in head[:i].split(b"\r\n")
                              if line.lower().startswith(b"content-length:")), None)
                if found is None or not head.startswith(b"WARC/"):
                    return False
                try:
                    end = i + 4 + int(found.split(b":", 1)[1])
                except ValueError:
                    return False
                if end > limit:
                    return False
                out, seen = head, 0
        if end is not None:
            after = out[max(0, end - seen):]
            seen += len(out)
            if after.strip(b"\r\n"):
                return True
        if inflate.eof:
            return False
        if not data:
            data = fh.read(1 << 16)
    return False


class WarcImporter:
    """One ``crawler import`` run over an open archive (see :func:`import_warcs`)."""

    def __init__(self, archive: Archive, *, site: str | None = None, date_from: str | None = None,
                 date_to: str | None = None, workers: int | None = None,
                 max_record: int = DEFAULT_MAX_RECORD, neardup_threshold: float | None = DEFAULT_THRESHOLD,
                 extraction_timeout: float = 120):
        self.archive = archive
        self.site = site
        self.date_from = date_from
        self.date_to = date_to
        self.workers = default_size() if workers is None else max(0, workers)
        self.max_record = max_record
        self.timeout = extraction_timeout
        self.neardup_threshold = neardup_threshold
        self.check_fetch, self.extract_job = page_functions()
        self.profiles = bundled_profiles()
        self.counts: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        self.crawl_id: int | None = None
        self.pool: WorkerPool | None = None
        self.neardup: NearDupIndexer | None = None
        self._redirects: OrderedDict[str, str] = OrderedDict()
        self._window: deque[_Unit] = deque()
        self._batch = None
        self._batch_units = 0
        self._batch_started = 0.0
        self._progress: dict[str, tuple[int, int]] = {}  # path -> (next_offset, records)
        # files gzip'd as one stream: offsets are in the decompressed stream, not seekable
        self._one_stream: set[str] = set()

    # -- reading ---------------------------------------------------------------------

    def _profile(self, site: str | None, url: str):
        if site and site in self.profiles:
            return site, self.profiles[site]
        for name, profile in self.profiles.items():
            if profile.owns(url):
                return name, profile
        try:
            profile = generic_profile(url)
        except ProfileError:
            return site or "unknown", None
        return site or profile.name, profile

    def _units(self, path: str, start: int) -> Iterator[_Unit]:
        """The file's records from ``start`` on, as units in file order."""
        with open(path, "rb") as fh:
            if _one_gzip_stream(fh):
                yield from self._stream_units(path, fh, start)
                return
            pos = start
            while pos is not None:
                fh.seek(pos)
                failed_at = yield from self._read_from(path, fh)
                if failed_at is None:
                    return
                offset, reason = failed_at
                pos = _next_member(fh, offset + 1)
                end = pos if pos is not None else os.fstat(fh.fileno()).st_size
                yield _Unit(path, offset, end, skip=reason)

    def _stream_units(self, path: str, fh, start: int) -> Iterator[_Unit]:
        """The records of a file gzip'd as one stream, read as the uncompressed WARC it holds.

        Positions (``start``, the units' offsets) are in the decompressed stream: resuming
        decompresses the file again up to ``start``. Nothing after a damaged part of the
        stream can be found (no gzip member starts later), so that ends the file.
        """
        if path not in self._one_stream:
            self._one_stream.add(path)
            self.counts["files/one_gzip_stream"] += 1
            logger.info("%s is gzip'd as one stream, not a member per record: read as one stream", path)
        fh.seek(0)
        with gzip.GzipFile(fileobj=fh, mode="rb") as stream:
            try:
                stream.seek(start)
            except (OSError, EOFError, zlib.error) as exc:
                yield _Unit(path, start, start, skip=f"unreadable record: {_describe(exc)}")
                return
            failed_at = yield from self._read_from(path, stream)
        if failed_at is not None:
            offset, reason = failed_at
            yield _Unit(path, offset, offset, skip=f"{reason} (one gzip stream: the rest of the file is lost)")

    def _read_from(self, path: str, fh):
        """Units from the file position on; ``(offset, reason)`` when the file cannot be read on."""
        stderr = io.StringIO()
        it = ArchiveIterator(fh, check_digests=False)
        pending: _Unit | None = None
        pending_id = None
        offset = fh.tell()
        while True:
            offset = it.offset if it.member_info is None else it.member_info[0] + it.member_info[1]
            try:
                with contextlib.redirect_stderr(stderr):
                    record = next(it)
            except StopIteration:
                break
            except Exception as exc:  # noqa: BLE001 - corrupt gzip or WARC: resync
                if pending is not None:
                    yield pending
                return offset, f"unreadable record: {_describe(exc)}"
            kind = record.rec_type
            url = record.rec_headers.get_header("WARC-Target-URI")
            errors_before = it.err_count
            unit = _Unit(path, it.offset, 0, url=url)
            if kind == "metadata" and pending is not None and \
                    record.rec_headers.get_header("WARC-Concurrent-To") == pending_id:
                fields = _metadata_fields(record)
                unit = None
            elif kind == "response":
                self._response(record, unit)
                fields = None
            else:
                fields = None
                if kind in ("request", "warcinfo", "metadata"):
                    unit.count = f"records/{kind}"
                elif kind == "revisit":
                    unit.skip = "revisit record: the payload is in another record"
                else:
                    unit.skip = f"{kind} record: not an HTTP response"
            try:
                with contextlib.redirect_stderr(stderr):
                    start, length = it.get_record_offset(), it.get_record_length()
                # where the next record starts: in an uncompressed WARC (or one gzip stream)
                # past the blank lines that follow a record and are not part of its length
                after = it.offset
            except Exception as exc:  # noqa: BLE001
                if pending is not None:
                    yield pending
                return offset, f"unreadable record: {_describe(exc)}"
            short = getattr(record.raw_stream, "limit", 0)
            if unit is not None and not unit.skip and short:
                unit.skip = f"truncated: {short} bytes fewer than its Content-Length"
            elif unit is not None and not unit.skip and it.err_count > errors_before:
                unit.skip = "wrong Content-Length: data follows the record's declared end"
            if unit is not None and unit.skip:
                unit.page = None
                unit.count = None
            if unit is None:  # the metadata of the pending response
                pending.fields = fields
                pending.end = after
                yield pending
                pending = None
                continue
            unit.offset, unit.end, unit.length = start, after, length
            if pending is not None and kind == "request" and \
                    record.rec_headers.get_header("WARC-Concurrent-To") == pending_id:
                pending.end = unit.end  # the pending response's request: part of it
                self.counts["records/request"] += 1
                continue
            if pending is not None:
                yield pending
                pending = None
            if kind == "response" and unit.page is not None:
                pending = unit
                pending_id = record.rec_headers.get_header("WARC-Record-ID")
                continue
            yield unit
        if pending is not None:
            yield pending
        return None

    def _note_redirect(self, url: str, target: str | None) -> None:
        if target:
            from urllib.parse import urljoin

            self._redirects[urljoin(url, target)] = self._redirects.pop(url, url)
            while len(self._redirects) > _REDIRECTS_KEPT:
                self._redirects.popitem(last=False)

    def _recall_redirects(self, path: str, start: int) -> None:
        """Redirects read before ``start`` whose final page comes later, as an uninterrupted
        import of this file holds them at ``start``: a resumed import stores that page under
        the URL first requested too. Headers only; reading stops at the first damaged record."""
        stderr = io.StringIO()
        with open(path, "rb") as raw, contextlib.ExitStack() as stack:
            fh = raw
            if _one_gzip_stream(raw):
                raw.seek(0)
                fh = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb"))
            raw.seek(0)
            it = ArchiveIterator(fh, check_digests=False)
            try:
                with contextlib.redirect_stderr(stderr):
                    for record in it:
                        if it.offset >= start:
                            break
                        url, http = record.rec_headers.get_header("WARC-Target-URI") or "", record.http_headers
                        if record.rec_type != "response" or http is None or not url.startswith("http"):
                            continue
                        status = http.get_statuscode() or ""
                        if status.startswith("3") and status != "304":
                            self._note_redirect(url, http.get_header("Location"))
                        else:
                            self._redirects.pop(url, None)
            except Exception as exc:  # noqa: BLE001 - best effort: the import itself reports bad records
                logger.warning("%s: redirects before byte %d recalled up to a damaged record (%s)", path, start,
                               _describe(exc))

    def _response(self, record, unit: _Unit) -> None:
        """Fill ``unit`` from a response record: a page, a count or a skip."""
        url = unit.url or ""
        http = record.http_headers
        if not url.startswith(("http://", "https://")) or http is None or \
                not (http.protocol or "").upper().startswith("HTTP/"):
            unit.skip = "response record without an HTTP response"
            return
        declared = int(record.rec_headers.get_header("Content-Length") or 0)
        if declared > self.max_record:
            unit.skip = f"record too large: {declared} bytes declared, limit {self.max_record}"
            return
        try:
            status = int(http.get_statuscode())
        except (TypeError, ValueError):
            unit.skip = f"bad HTTP status line: {http.statusline!r}"
            return
        repeated: dict[str, list[str]] = {}
        for name, value in http.headers:
            repeated.setdefault(name.strip().lower(), []).append(value)
        headers = select_headers(repeated)
        if 300 <= status < 400 and status != 304:
            self._note_redirect(url, http.get_header("Location"))
            unit.count = "records/redirect"
            return
        if status == 304:
            unit.count = "records/not_modified"
            return
        try:
            body = record.content_stream().read(self.max_record + 1)
        except Exception as exc:  # noqa: BLE001 - a broken gzip/chunked payload
            unit.skip = f"undecodable payload: {_describe(exc)}"
            return
        if len(body) > self.max_record:
            unit.skip = f"payload over {self.max_record} bytes once decoded"
            return
        unit.page = FetchedPage(
            url=url, final_url=url, site="", fetched_at=_warc_date_iso(record.rec_headers.get_header("WARC-Date")),
            status=status, headers=headers, content_type=headers.get("content-type"), body=body)

    # -- deciding and extracting -----------------------------------------------------

    def _prepare(self, unit: _Unit) -> None:
        """Decide what a page unit is, and start its extraction."""
        page = unit.page
        fields = unit.fields
        if page is None:
            return
        requested = self._redirects.pop(page.url, page.url)
        page.url = requested
        site, profile = self._profile(fields.get("site") if fields else None, page.final_url)
        page.site = site
        if fields is not None:
            if fields.get("role") != "article":
                unit.page, unit.count = None, "records/discovery"
                return
        elif profile is None or not profile.is_article_url(page.final_url):
            unit.page, unit.count = None, "records/not_article_url"
            return
        if self.site and site != self.site:
            unit.page, unit.count = None, "filtered/site"
            return
        unit.profile = profile
        unit.problem = self.check_fetch(page)
        if unit.problem:
            return
        # The crawl fetched this page as a candidate of discovery by content: judge it the
        # same way, by the page itself.
        classify = CLASSIFIER if fields is not None and fields.get("classify") == "true" else None
        if self.pool is None:
            unit.result = self.extract_job(page, profile, classify, self.neardup is not None)
        else:
            unit.future = self.pool.submit(self.extract_job, page, profile, classify, self.neardup is not None)


    def _outcome(self, unit: _Unit) -> tuple:
        if unit.future is None:
            return unit.result or (None, None, unit.problem, None)
        try:
            return unit.future.result()
        except WorkerTimeout as exc:
            self.counts["extraction/timeouts"] += 1
            return None, None, f"extraction timed out: {exc}", None
        except WorkerCrashed as exc:
            self.counts["extraction/crashes"] += 1
            logger.error("extraction worker died on %s: %s", unit.url, exc)
            return None, None, f"extraction crashed: {exc}", None

    def _in_range(self, article: dict) -> bool:
        if not (self.date_from or self.date_to):
            return True
        day = str(article.get("published_at") or "")[:10]
        if not day:
            return False
        return (not self.date_from or day >= self.date_from) and (not self.date_to or day <= self.date_to)

    # -- storing ---------------------------------------------------------------------

    def _store(self, unit: _Unit) -> None:
        if unit.skip:
            self.skipped[unit.skip.split(":")[0]] += 1
            logger.warning("skipped record at %s:%d (%s): %s", os.path.basename(unit.path), unit.offset,
                           unit.url or "-", unit.skip)
            progress_db.record_skip(self.archive, crawl_id=self.crawl_id, path=unit.path, offset=unit.offset,
                                    url=unit.url, reason=unit.skip)
        elif unit.count:
            self.counts[unit.count] += 1
        elif unit.page is not None:
            page = unit.page
            article, encoding, error, prepared = self._outcome(unit)
            if article is not None and not error and not self._in_range(article):
                self.counts["filtered/date"] += 1
            else:
                self._store_page(unit, page, None if error else article, encoding, error, prepared)
        path_state = self._progress[unit.path]
        self._progress[unit.path] = (unit.end, path_state[1] + 1)

    def _store_page(self, unit, page, article, encoding, error, prepared=None) -> None:
        self.counts["pages"] += 1
        row = {
            "site": page.site, "url": page.url, "final_url": page.final_url, "status": page.status,
            "content_type": page.content_type, "headers": page.headers, "encoding": encoding or page.encoding,
            "fetched_at": page.fetched_at, "error": error,
            # compressed by the extraction worker when the page went through one
            "body": prepared.body if prepared is not None and prepared.body is not None else page.body,
            "warc_file": unit.path, "warc_offset": unit.offset, "warc_length": unit.length,
        }
        if unit.path in self._one_stream:  # no record can be read from the middle of the file
            row["warc_offset"] = row["warc_length"] = None
        if is_not_article(error):
            # the classifier's verdict on a candidate, as in a crawl: visited, no failure
            self.counts["not_articles"] += 1
            self.counts[f"not_article_kinds/{error.removeprefix(NOT_AN_ARTICLE)}"] += 1
        elif error:
            self.counts["errors"] += 1
            if error.startswith("not HTML"):
                self.skipped["not HTML"] += 1
        if prepared is not None and prepared.stems:
            self.archive.offer_stems(prepared.stems)
        _, result = self.archive.store_fetch(row, article, crawl_id=self.crawl_id, seen_at=page.fetched_at)
        if result is not None:
            self.counts[f"archive/{result.status}"] += 1
            if self.neardup is not None and result.status in ("new", "updated", "duplicate"):
                match = self.neardup.index(result.id, prepared.signed if prepared is not None else None)
                if match.near_duplicate_of is not None:
                    self.counts["archive/near_duplicates"] += 1
        page.body = None

    def _drain(self, *, all_: bool = False, limit: int = 0) -> None:
        """Store finished units from the head of the window (all of them with ``all_``)."""
        while self._window:
            head = self._window[0]
            if not all_ and len(self._window) <= limit and head.future is not None and not head.future.done():
                return
            self._window.popleft()
            if self._batch is None:
                self._batch = progress_db.batch(self.archive)
                self._batch.__enter__()
                self._batch_started = time.monotonic()
            self._store(head)
            self._batch_units += 1
            if self._batch_units >= _COMMIT_EVERY or time.monotonic() - self._batch_started > _COMMIT_SECONDS:
                self._commit()

    def _commit(self, finished_path: str | None = None) -> None:
        if self._batch is None:
            self._batch = progress_db.batch(self.archive)
            self._batch.__enter__()
        for path, (next_offset, records) in self._progress.items():
            progress_db.save_progress(self.archive, path, size=os.path.getsize(path), next_offset=next_offset,
                                      records=records, crawl_id=self.crawl_id, finished=path == finished_path)
        batch, self._batch, self._batch_units = self._batch, None, 0
        batch.__exit__(None, None, None)

    # -- the run ---------------------------------------------------------------------

    def run(self, paths: list[str]) -> dict:
        paths = [progress_db.file_key(p) for p in paths]
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise WarcImportError(f"no such WARC file: {missing[0]}")
        self.crawl_id = self.archive.start_crawl(
            [f"import:{os.path.basename(p)}" for p in paths],
            {"import": paths, "site": self.site, "date_from": self.date_from, "date_to": self.date_to,
             "versions": software_versions()})
        status = "interrupted"
        try:
            if self.neardup_threshold is not None:
                self.neardup = NearDupIndexer(self.archive, self.neardup_threshold)
                self.neardup.catch_up()
            if self.workers:
                self.pool = WorkerPool(self.workers, timeout=self.timeout, preload=["crawler.worker_preload"],
                                       name="import", max_tasks=1000).start()
            for path in paths:
                self._import_file(path)
            status = "partial" if self.skipped or self.counts["errors"] else "ok"
        finally:
            if self.pool is not None:
                self.pool.close()
                self.pool = None
            if self._batch is not None and status == "interrupted":
                self._batch.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
                self._batch = None
            self.archive.finish_crawl(self.crawl_id, self._stats(), status)
        return {"crawl_id": self.crawl_id, "status": status, **self._stats()}

    def _import_file(self, path: str) -> None:
        state = progress_db.progress(self.archive, path)
        size = os.path.getsize(path)
        start, records = 0, 0
        if state is not None:
            if state["size"] != size:
                logger.warning("%s changed since it was imported: reading it from the start", path)
            elif state["finished_at"]:
                logger.info("%s was imported before (crawl %s): nothing to do", path, state["crawl_id"])
                self.counts["files/already_imported"] += 1
                return
            else:
                start, records = state["next_offset"], state["records"]
                logger.info("%s: resuming at byte %d after %d records", path, start, records)
                self.counts["files/resumed"] += 1
                self._recall_redirects(path, start)
        self._progress[path] = (start, records)
        max_pending = 2 * max(1, self.workers)
        readable = 0
        for unit in self._units(path, start):
            # something usable: a page or a well-formed record; a file of skips only gave nothing
            readable += unit.page is not None or unit.count is not None
            self._prepare(unit)
            self._window.append(unit)
            self._drain(limit=max_pending)
        self._drain(all_=True)
        self._commit(finished_path=path)
        del self._progress[path]
        self.counts["files/imported"] += 1
        if not readable:
            logger.error("%s: no usable WARC record from byte %d on", path, start)
            self.counts["files/unreadable"] += 1

    def _stats(self) -> dict:
        c = self.counts
        return {
            "pages": c["pages"], "errors": c["errors"],
            "articles_new": c["archive/new"], "articles_updated": c["archive/updated"],
            "articles_unchanged": c["archive/unchanged"], "duplicates": c["archive/duplicate"],
            "near_duplicates": c["archive/near_duplicates"],
            "skipped": dict(sorted(self.skipped.items())),
            "records": {k.removeprefix("records/"): v for k, v in sorted(c.items()) if k.startswith("records/")},
            "not_articles": c["not_articles"],
            "not_article_kinds": {k.removeprefix("not_article_kinds/"): v for k, v in sorted(c.items())
                                  if k.startswith("not_article_kinds/")},
            "filtered": {k.removeprefix("filtered/"): v for k, v in sorted(c.items()) if k.startswith("filtered/")},
            "files": {k.removeprefix("files/"): v for k, v in sorted(c.items()) if k.startswith("files/")},
        }


def import_warcs(paths: list[str], db_path: str, **options) -> dict:
    """Import ``paths`` (WARC files, gzip'd or not) into the archive at ``db_path``.

    Options: ``site``, ``date_from``/``date_to`` (YYYY-MM-DD, the article's published day),
    ``workers`` (extraction processes; None: one per core, 0: in this process),
    ``max_record`` (bytes), ``neardup_threshold``. Returns the crawls row's counts plus
    ``crawl_id`` and ``status``.
    """
    from crawler.lock import CrawlLock

    with CrawlLock(db_path):
        archive = Archive(db_path)
        try:
            return WarcImporter(archive, **options).run(paths)
        finally:
            archive.close()

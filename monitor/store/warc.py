"""WARC records (ISO 28500, WARC/1.1) for one capture, and reading them back: the only module that imports warcio.

`capture_records()` builds the records of one capture as gzip members (one per record, so any record can be
copied or dropped by its byte range): for each redirect followed, a `request` and a `response`; then the page's
`request` and `response` (a `revisit` when the body is the same as an earlier capture's); for a page the
browser rendered, also a `conversion` record holding the rendered DOM (what was normalized), which refers to
the response. A body kept without its HTTP exchange (migrated from the old layout) is a `resource` record.
Digests are sha256 (base32, as WARC tools write them). A body is stored decoded, so a response's
Content-Encoding, Transfer-Encoding and Content-Length headers are kept as `X-Archive-Orig-*` (the Wayback
convention) and a Content-Length of the stored body is added.

`members()` splits a file's bytes into its gzip members without trusting any of them; `parse()` reads one
record and checks its digests; `check()` says of one member what is wrong with it, if anything.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.utils import Digester
from warcio.warcwriter import BufferWARCWriter

from monitor.models import CaptureRef, Exchange, Headers

logger = logging.getLogger(__name__)

WARC_VERSION = "1.1"
_FRAMING = ("content-encoding", "transfer-encoding")


# gzip level of each record. Compressed with ISA-L (python-isal, plain gzip members any reader inflates): on the
# benchmark's 98 KiB pages its level 3 takes 0.46 ms and gives 33.8 KiB, where zlib's level 3 took 1.24 ms for
# 33.7 KiB (its level 6 2.05 ms, 32.2 KiB; warcio's own level 9 about 6 ms). zlib where isal has no build.
GZIP_LEVEL = 3


@functools.cache
def _deflate() -> ModuleType:
    """isal's zlib-compatible module, imported on the first record written (not at every command's start-up:
    8 ms); zlib where isal has no build."""
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - a platform without an isal wheel
        return zlib
    return isal_zlib


class _Writer(BufferWARCWriter):
    """warcio's writer with sha256 digests (sha1, its default, is broken for evidence), each record its own
    gzip member at GZIP_LEVEL. Made with gzip=False: the compression is done here."""

    @staticmethod
    def _create_digester() -> Digester:  # type: ignore[override]
        return Digester("sha256")

    def write_record(self, record: object, params: object = None) -> None:
        plain = io.BytesIO()
        self._write_warc_record(plain, record)
        deflate = _deflate()
        compressor = deflate.compressobj(GZIP_LEVEL, deflate.DEFLATED, 31)
        self.out.write(compressor.compress(plain.getvalue()) + compressor.flush())


def payload_digest(body: bytes) -> str:
    """Return `body`'s WARC digest value: "sha256:" and the base32 of its sha256."""
    return "sha256:" + base64.b32encode(hashlib.sha256(body).digest()).decode("ascii")


def _warc_date(when: datetime) -> str:
    return datetime_to_iso_date(when.astimezone(UTC).replace(tzinfo=None), use_micros=True)


def stored_headers(headers: Headers, body_length: int) -> list[tuple[str, str]]:
    """Return response `headers` for a body stored decoded (see the module docstring)."""
    if not any(name.lower() in _FRAMING for name, _ in headers):
        return list(headers)
    kept = [(f"X-Archive-Orig-{n}", v) if n.lower() in (*_FRAMING, "content-length") else (n, v) for n, v in headers]
    return [*kept, ("Content-Length", str(body_length))]


@dataclass(frozen=True)
class Capture:
    """What one capture is made of, for capture_records()."""

    uri: str                           # the page's URL (for an archived page: the URL the archive captured)
    when: datetime                     # when it was fetched (an archived page: the archive's capture time)
    body: bytes                        # the raw body the text was normalized from
    content_type: str | None = None
    exchanges: tuple[Exchange, ...] = ()
    rendered: bool = False             # `body` is the browser's rendered DOM, not what the server sent
    source_uri: str | None = None      # an archived page: the archive's replay URL
    note: str | None = None            # said in a `WARC-Monitor-Note` header (a migrated body)
    revisit_of: CaptureRef | None = None   # an earlier capture with the same body (a full one, not a revisit)
    digest: str | None = None           # payload_digest(body), when the caller has it already


@dataclass(frozen=True)
class Records:
    """A capture's records as bytes; the record whose payload is the raw body, its digest and date; and the
    capture a revisit refers to (None when the body is in these records)."""

    data: bytes
    record: str
    digest: str
    date: str
    original: CaptureRef | None = None


def _extra(capture: Capture) -> dict[str, str]:
    extra = {"WARC-Date": _warc_date(capture.when)}
    if capture.source_uri:
        extra["WARC-Source-URI"] = capture.source_uri
    if capture.note:
        extra["WARC-Monitor-Note"] = capture.note
    return extra


def _exchange_records(writer: _Writer, capture: Capture, exchange: Exchange, body: bytes, uri: str,
                      revisit_of: CaptureRef | None = None, digest: str | None = None) -> str:
    """Write a request (not for an archived page: that request went to the archive, at another time) and the
    response of `exchange` (a revisit of `revisit_of`, when given); return the response's record id. `digest`:
    the body's payload digest, when known."""
    http = StatusAndHeaders(f"{exchange.status} {exchange.reason}".strip(),
                            stored_headers(exchange.headers, len(body)), protocol=exchange.protocol)
    extra = _extra(capture)
    if revisit_of is not None:
        extra["WARC-Refers-To"] = revisit_of.record
        record = writer.create_revisit_record(uri, revisit_of.digest, uri, revisit_of.date, http_headers=http,
                                              warc_headers_dict=extra)
    else:
        if digest is not None:  # known: warcio does not hash the body again
            extra["WARC-Payload-Digest"] = digest
        record = writer.create_warc_record(uri, "response", payload=io.BytesIO(body), length=len(body),
                                           http_headers=http, warc_headers_dict=extra)
    response_id = record.rec_headers.get_header("WARC-Record-ID")
    if capture.source_uri is None:
        request = StatusAndHeaders(f"{exchange.method} {exchange.request_target} {exchange.protocol}",
                                   list(exchange.request_headers), is_http_request=True)
        writer.write_record(writer.create_warc_record(
            uri, "request", http_headers=request,
            warc_headers_dict={**_extra(capture), "WARC-Concurrent-To": response_id}))
    writer.write_record(record)
    return response_id


def capture_records(capture: Capture) -> Records:
    """Return the WARC records of `capture` (gzip members, in the order the module docstring gives). It is a
    revisit when `revisit_of` has the same payload digest and the body is what the server sent."""
    writer = _Writer(gzip=False, warc_version=WARC_VERSION)
    digest = capture.digest or payload_digest(capture.body)
    revisit_of = capture.revisit_of if capture.revisit_of is not None and capture.revisit_of.digest == digest \
        and not capture.rendered and capture.exchanges else None

    def done(record_id: str) -> Records:
        return Records(writer.get_contents(), record_id, digest, _warc_date(capture.when), revisit_of)

    *hops, page = capture.exchanges or (None,)
    for hop in hops:
        assert hop is not None
        _exchange_records(writer, capture, hop, hop.body or b"", hop.url)
    if page is None:
        record = writer.create_warc_record(capture.uri, "resource", payload=io.BytesIO(capture.body),
                                           length=len(capture.body),
                                           warc_headers_dict={**_extra(capture), "WARC-Payload-Digest": digest},
                                           warc_content_type=capture.content_type or "application/octet-stream")
        writer.write_record(record)
        return done(record.rec_headers.get_header("WARC-Record-ID"))
    if not capture.rendered:
        return done(_exchange_records(writer, capture, page, capture.body, capture.uri, revisit_of, digest))
    response_id = _exchange_records(writer, capture, page, page.body or b"", capture.uri)
    conversion = writer.create_warc_record(
        capture.uri, "conversion", payload=io.BytesIO(capture.body), length=len(capture.body),
        warc_headers_dict={**_extra(capture), "WARC-Refers-To": response_id, "WARC-Payload-Digest": digest,
                           "WARC-Monitor-Note": "the page as the browser rendered it"},
        warc_content_type=capture.content_type or "text/html; charset=utf-8")
    writer.write_record(conversion)
    return done(conversion.rec_headers.get_header("WARC-Record-ID"))


@dataclass(frozen=True)
class Member:
    """One gzip member of a WARC file: its byte range and, when it is whole, what it decompresses to."""

    offset: int
    length: int
    data: bytes | None  # None: not a whole gzip member (damaged, or cut short by a crash)


def members(data: bytes, start: int = 0) -> Iterator[Member]:
    """Yield the gzip members of `data` from `start`. A damaged stretch is one Member with data None, up to the
    next place a member could start (or the end)."""
    offset = start
    while offset < len(data):
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(data[offset:]) + inflater.flush()
            whole = inflater.eof
        except zlib.error:
            whole = False
        if whole:
            length = len(data) - offset - len(inflater.unused_data)
            yield Member(offset, length, out)
            offset += length
            continue
        following = data.find(b"\x1f\x8b\x08", offset + 1)
        end = following if following != -1 else len(data)
        yield Member(offset, end - offset, None)
        offset = end


@dataclass(frozen=True)
class Record:
    """A WARC record read back: its type, id, target URI and date, its payload (the HTTP body for a response),
    and what is wrong with it (empty when its digests match)."""

    type: str
    id: str
    uri: str
    date: str
    payload: bytes
    refers_to: str | None
    problems: tuple[str, ...]


def parse(member: bytes) -> Record:
    """Return the one WARC record in a decompressed gzip `member`, its digests checked. Raises ValueError when
    it is not a WARC record."""
    try:
        iterator = ArchiveIterator(io.BytesIO(member), check_digests=True)
        record = next(iter(iterator), None)
        if record is None:
            raise ValueError("no WARC record")
        payload = record.content_stream().read()
        headers = record.rec_headers
        problems = tuple(record.digest_checker.problems)
    except (ArchiveLoadFailed, StopIteration, OSError, zlib.error) as exc:
        raise ValueError(f"not a WARC record: {exc}") from exc
    declared = headers.get_header("WARC-Payload-Digest")
    if record.rec_type in ("resource", "conversion") and declared and declared != payload_digest(payload):
        problems += (f"payload digest failed: {declared}",)  # warcio checks it for responses only
    return Record(record.rec_type, headers.get_header("WARC-Record-ID") or "", headers.get_header("WARC-Target-URI")
                  or "", headers.get_header("WARC-Date") or "", payload,
                  headers.get_header("WARC-Refers-To"), problems)


def check(member: Member) -> tuple[Record | None, str | None]:
    """Return the WARC record in `member` (None when there is none to read) and what is wrong with it (None when
    it is whole and its digests match)."""
    if member.data is None:
        return None, "not a whole gzip member"
    try:
        record = parse(member.data)
    except ValueError as exc:
        return None, str(exc)
    return record, record.problems[0] if record.problems else None


def warcinfo(filename: str, info: dict[str, str]) -> bytes:
    """Return a gzipped `warcinfo` record describing a file written by the monitor."""
    writer = _Writer(gzip=False, warc_version=WARC_VERSION)
    writer.write_record(writer.create_warcinfo_record(filename, info))
    return writer.get_contents()

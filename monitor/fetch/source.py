"""Where a check's page comes from: the live site (over HTTP, in the browser, or both, as `Fetcher.fetch`
decides), the web archive's newest capture when the site fails and the target allows it
(`archive.fallback`), or the archive alone for a `source: archive` target. Hands on one `Fetched`.
"""

from __future__ import annotations

import logging

from monitor.clock import Clock
from monitor.errors import BlockedError, FetchError, TransientFetchError
from monitor.fetch.archive import Archive, fallback_fetch, from_archive
from monitor.fetch.http import Fetcher
from monitor.models import Fetched, Snapshot, Target, Validators

logger = logging.getLogger(__name__)


def page_for(target: Target, fetcher: Fetcher, archive: Archive | None, previous: Snapshot | None,
             validators: Validators | None, clock: Clock) -> Fetched:
    """Return the target's page for this check; `not_modified` means nothing newer (a 304, or no capture
    newer than `previous` for an archive source). `previous` is the newest snapshot. Raises FetchError."""
    if target.source == "archive":
        return _newest_capture(target, archive, previous, clock)
    try:
        fetched = fetcher.fetch(target, validators)
        if fetched.not_modified and previous is not None and fetched.final_url != (previous.final_url or target.url):
            # A 304 from where a redirect now leads (the site moved, the same validators): read it whole
            fetched = fetcher.fetch(target, None)
        return fetched
    except (BlockedError, TransientFetchError) as exc:
        if not target.archive_fallback or archive is None:
            raise
        return fallback_fetch(archive, target, previous.taken_at if previous else None, exc,
                              also=previous.final_url if previous else None)


def source_note(fetched: Fetched, previous: Snapshot | None) -> str | None:
    """Return what the result line says about where the page came from (None for the live site)."""
    if fetched.source != "archive":
        return None
    if fetched.not_modified:
        return f"no capture newer than {previous.taken_at:%Y-%m-%d %H:%M} UTC in the web archive" if previous else None
    return f"content from the web archive, capture of {fetched.fetched_at:%Y-%m-%d %H:%M} UTC"


def _newest_capture(target: Target, archive: Archive | None, previous: Snapshot | None, clock: Clock) -> Fetched:
    """Return the archive's newest capture taken after `previous`, or a not-modified answer when there is none.
    Raises FetchError (also when the archive has no capture of the page at all)."""
    if archive is None:
        raise FetchError("no web archive client for a 'source: archive' target")
    fetched = from_archive(archive, target, previous.taken_at if previous else None,
                           also=previous.final_url if previous else None)
    if fetched is not None:
        return fetched
    if previous is None:
        raise FetchError(f"the web archive has no capture of {target.url}")
    return Fetched(url=target.url, final_url=previous.final_url or target.url, status=previous.status or 200,
                   fetched_at=clock(), not_modified=True, source="archive", via="archive")

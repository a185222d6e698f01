"""Check every stored file (snapshots, state, reports, review database, index) and quarantine what is not whole.

`verify()` reads everything and returns findings; with `repair=True` it moves what it cannot trust to
`<root>/.quarantine/<UTC time>/` (keeping the relative path), removes stale temp files, regenerates the index
pages, and writes what it did to `verify.json` in that folder. Errors are files that are not whole; notices
are harmless leftovers (temp files and files a killed write left invisible).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from monitor.errors import MonitorError, StoreError
from monitor.models import NAME_RE, REPORT_ID_RE, SNAPSHOT_ID_RE, time_id
from monitor.report import publish, sidecars
from monitor.review import DB_NAME, SCHEMA_VERSION
from monitor.store import CHECKS, SnapshotStore, read_cache_json, read_json, write_json
from monitor.store.audit import Problem, audit, repair
from monitor.store.captures import warc_files

logger = logging.getLogger(__name__)

QUARANTINE = ".quarantine"
_TMP = re.compile(r"^\..+\.tmp$")
_INDEX_LINK = re.compile(r'href="([a-z0-9-]+/\d{8}T\d{6}\.\d{6}Z-[0-9a-z]+)\.html"')
_SUFFIXES = (".html.gz", ".json", ".txt", ".html")


def _stem(name: str) -> str:
    """Return a stored file's id: its name without the known suffix (ids contain dots)."""
    return next((name[:-len(s)] for s in _SUFFIXES if name.endswith(s)), name)


@dataclass(frozen=True)
class Finding:
    """One problem: the files concerned (the first names it), what is wrong, and what repair did about it."""

    paths: tuple[Path, ...]
    problem: str
    severity: Literal["error", "notice"] = "error"
    action: str | None = None
    capture: tuple[str, Problem] | None = field(default=None, compare=False)  # a capture problem: (target, it)


@dataclass
class Verification:
    """What verify() found and, with repair, did."""

    checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    quarantine: Path | None = None
    regenerated: bool = False

    @property
    def errors(self) -> list[Finding]:
        """The findings that are damage (not leftovers)."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def unrepaired(self) -> list[Finding]:
        """Errors repair did not deal with (all of them without repair)."""
        return [f for f in self.errors if f.action is None]


def _problem(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _snapshot_files(folder: Path, sid: str) -> tuple[Path, ...]:
    return tuple(p for p in (folder / f"{sid}.json", folder / f"{sid}.txt", folder / f"{sid}.html.gz") if p.exists())


def check_snapshots(store: SnapshotStore, result: Verification) -> set[tuple[str, str]]:
    """Check every snapshot and state file; add findings; return the (target, id) of the whole snapshots."""
    good: set[tuple[str, str]] = set()
    if not store.root.is_dir():
        return good
    for folder in sorted(p for p in store.root.iterdir() if p.is_dir() and NAME_RE.match(p.name)):
        ids = {_stem(p.name) for p in folder.iterdir() if SNAPSHOT_ID_RE.match(_stem(p.name))}
        for sid in sorted(ids):
            files = _snapshot_files(folder, sid)
            result.checked += len(files)
            if not (folder / f"{sid}.json").exists():
                result.findings.append(Finding(files, "snapshot files without metadata (an interrupted write; "
                                                      "invisible)", "notice"))
                continue
            try:
                snapshot = store.get(folder.name, sid)
                store.read_text(snapshot)
                good.add((folder.name, sid))
            except MonitorError as exc:
                result.findings.append(Finding(files, f"snapshot not whole: {_problem(exc)}"))
        try:
            for problem in audit(store, folder.name):
                result.findings.append(Finding((problem.path,), problem.problem, problem.severity,
                                               capture=(folder.name, problem)))
        except MonitorError as exc:
            result.findings.append(Finding((folder / "warc",), f"captures not readable: {_problem(exc)}"))
        result.checked += len(warc_files(folder))
        state = folder / "state.json"
        if state.exists():
            result.checked += 1
            try:
                store.load_state(folder.name)
            except (MonitorError, ValueError, TypeError) as exc:
                result.findings.append(Finding((state,), f"state not readable: {_problem(exc)}"))
        checks = folder / CHECKS
        if checks.exists():
            result.checked += 1
            try:
                read_cache_json(checks)
            except StoreError as exc:  # not fsynced by design: a power cut may empty it; the next check rewrites it
                result.findings.append(Finding((checks,), f"check cache not readable, the next check rewrites it: "
                                                          f"{_problem(exc)}", "notice"))
    for path in (store.root / "daemon.json", *sorted((store.root / ".outbox").rglob("*.json")),
                 *sorted((store.root / ".requests").glob("*.json"))):
        if path.exists() and path.is_file():
            result.checked += 1
            try:
                read_json(path)
            except StoreError as exc:
                result.findings.append(Finding((path,), f"not readable: {_problem(exc)}"))
    return good


def check_reports(reports_dir: Path, good: set[tuple[str, str]], result: Verification) -> None:
    """Check every report (sidecar, HTML, text, the snapshots it names), the review database and the index."""
    if not reports_dir.is_dir():
        return
    listed: set[str] = set()
    readable = {(t, p.stem): doc for t, p, doc in sidecars(reports_dir)}
    for folder in sorted(p for p in reports_dir.iterdir() if p.is_dir() and NAME_RE.match(p.name)):
        _check_pages(folder, result)
        ids = {_stem(p.name) for p in folder.iterdir() if REPORT_ID_RE.match(_stem(p.name))}
        for rid in sorted(ids):
            files = tuple(p for p in (folder / f"{rid}.json", folder / f"{rid}.html", folder / f"{rid}.txt")
                          if p.exists())
            result.checked += len(files)
            if not (folder / f"{rid}.json").exists():
                result.findings.append(Finding(files, "report files without a sidecar (an interrupted write; "
                                                      "invisible)", "notice"))
                continue
            doc = readable.get((folder.name, rid))
            if doc is None:
                result.findings.append(Finding(files, "report sidecar not readable"))
                continue
            missing = [s for s in (".html", ".txt") if not (folder / f"{rid}{s}").exists()]
            gone = [side["id"] for side in (doc.get("old"), doc.get("new"))
                    if isinstance(side, dict) and (folder.name, side.get("id")) not in good]
            if missing:
                result.findings.append(Finding(files, f"report lacks its {' and '.join(missing)} file"))
            elif gone:
                result.findings.append(Finding(files, f"report refers to missing snapshot(s) {', '.join(gone)}"))
            else:
                listed.add(f"{folder.name}/{rid}")
    _check_review_db(reports_dir / DB_NAME, result)
    _check_index(reports_dir, listed, result)


def _check_pages(folder: Path, result: Verification) -> None:
    """A target's index and history pages are written without fsync (monitor.report.site): after a power cut
    one may be empty or cut short. That is a notice; repair regenerates the pages."""
    for page in (folder / "index.html", folder / "history.html"):
        try:
            with page.open("rb") as fh:
                fh.seek(max(0, page.stat().st_size - 64))
                whole = fh.read().rstrip().endswith(b"</html>")
        except FileNotFoundError:
            continue
        except OSError as exc:
            result.findings.append(Finding((page,), f"page not readable: {exc}", "notice"))
            continue
        result.checked += 1
        if not whole:
            result.findings.append(Finding((page,), "page cut short (a power cut?)", "notice"))


def _check_review_db(path: Path, result: Verification) -> None:
    if not path.exists():
        return
    result.checked += 1
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error as exc:
        result.findings.append(Finding((path,), f"review database not readable: {exc}"))
        return
    if ok != "ok" or version != SCHEMA_VERSION:
        result.findings.append(Finding((path,), f"review database damaged ({ok}, version {version})"))


def _check_index(reports_dir: Path, listed: set[str], result: Verification) -> None:
    index, feed = reports_dir / "index.html", reports_dir / "feed.atom"
    if not listed and not index.exists():
        return
    result.checked += 2
    try:
        linked = set(_INDEX_LINK.findall(index.read_text(encoding="utf-8")))
        if linked != listed:
            # Derived and regenerated after every report: stale after a crash between the two, never damaged.
            result.findings.append(Finding((index,), f"index out of date: {len(listed - linked)} reports missing, "
                                                     f"{len(linked - listed)} gone", "notice"))
    except (OSError, UnicodeDecodeError) as exc:
        result.findings.append(Finding((index,), f"index not readable: {exc}"))
    try:
        ET.parse(feed)
    except (OSError, ET.ParseError) as exc:
        result.findings.append(Finding((feed,), f"feed not readable: {exc}"))


def _stale_temp_files(roots: tuple[Path, ...], result: Verification) -> None:
    for root in roots:
        if root.is_dir():
            for path in root.rglob(".*.tmp"):
                if QUARANTINE not in path.parts and _TMP.match(path.name):
                    result.findings.append(Finding((path,), "stale temporary file", "notice"))


def verify(snapshots_dir: Path, reports_dir: Path, *, repair: bool = False, now: datetime) -> Verification:
    """Check every stored file; with `repair`, quarantine what is not whole and regenerate the index.

    Returns what was found and done. Raises StoreError if a repair cannot move or write files.
    """
    store = SnapshotStore(snapshots_dir)
    result = Verification()
    good = check_snapshots(store, result)
    check_reports(reports_dir, good, result)
    _stale_temp_files((snapshots_dir, reports_dir), result)
    if not repair or not result.findings:
        return result
    stamp = time_id(now, "verify")
    repaired = [_repair(f, snapshots_dir, reports_dir, stamp, result) for f in result.findings if f.capture is None]
    repaired += _repair_captures(store, result, stamp)
    result.findings = repaired
    if any(f.paths[0].is_relative_to(reports_dir) for f in repaired):
        try:
            publish(reports_dir, store, now)
            result.regenerated = True
            result.findings = [f if f.action else Finding(f.paths, f.problem, f.severity, "regenerated")
                               for f in result.findings]
        except MonitorError as exc:
            logger.error("could not regenerate the index: %s", exc)
    if result.quarantine is not None:
        write_json(result.quarantine / "verify.json", {"created_at": now.isoformat(), "findings": [
            {"paths": [str(p) for p in f.paths], "problem": f.problem, "severity": f.severity, "action": f.action}
            for f in result.findings]})
    return result


def _repair_captures(store: SnapshotStore, result: Verification, stamp: str) -> list[Finding]:
    """Repair the captures of every target with a finding, after the other repairs (a quarantined snapshot
    leaves records nothing refers to): audit it again and repair what is found (monitor.store.audit). Return
    the capture findings with what was done, and those the other repairs caused."""
    targets: dict[str, list[Finding]] = {}
    for finding in result.findings:
        first = finding.paths[0]
        if finding.capture is not None:
            targets.setdefault(finding.capture[0], []).append(finding)
        elif first.is_relative_to(store.root) and len(first.relative_to(store.root).parts) > 1:
            targets.setdefault(first.relative_to(store.root).parts[0], [])
    done = []
    quarantine = store.root / QUARANTINE / stamp
    for target, findings in targets.items():
        if not NAME_RE.match(target):
            continue
        problems = audit(store, target)
        actions = dict(zip(((p.path, p.problem) for p in problems), repair(store, target, problems, quarantine),
                           strict=True))
        if any(p.fix in ("quarantine", "compact") for p in problems):
            result.quarantine = quarantine
        for finding in findings:
            done.append(replace(finding, action=actions.pop((finding.paths[0], finding.problem), "repaired")))
        done += [Finding((p.path,), p.problem, p.severity, actions[(p.path, p.problem)], (target, p))
                 for p in problems if (p.path, p.problem) in actions]
    return done


def _repair(finding: Finding, snapshots_dir: Path, reports_dir: Path, stamp: str, result: Verification) -> Finding:
    """Deal with one finding; return it with the action taken (None if it needs the index regenerated)."""
    first = finding.paths[0]
    if finding.problem == "stale temporary file":
        first.unlink(missing_ok=True)
        return Finding(finding.paths, finding.problem, finding.severity, "removed")
    if first.name in ("index.html", "history.html", "feed.atom"):
        return finding
    root = reports_dir if first.is_relative_to(reports_dir) else snapshots_dir
    folder = root / QUARANTINE / stamp
    result.quarantine = result.quarantine or (snapshots_dir / QUARANTINE / stamp)
    try:
        for path in finding.paths:
            if path.exists():
                dest = folder / path.relative_to(root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, dest)
    except OSError as exc:
        raise StoreError(f"cannot quarantine {first}: {exc.strerror or exc}") from exc
    logger.warning("quarantined %s: %s", first, finding.problem)
    return Finding(finding.paths, finding.problem, finding.severity, f"moved to {folder}")

"""Review state of change reports: who looked at what, with a note and a significance; SQLite beside the reports.

One small database, `<reports_dir>/review.sqlite3`, so the CLI, the review app and the static index share one
truth. WAL journal with synchronous=FULL: a mark that was acknowledged survives a crash or power loss.
The schema version lives in `PRAGMA user_version`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import StoreError
from monitor.models import NAME_RE, REPORT_ID_RE

logger = logging.getLogger(__name__)

DB_NAME = "review.sqlite3"
SCHEMA_VERSION = 1
MAX_NOTE = 4000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    target       TEXT NOT NULL,
    report_id    TEXT NOT NULL,
    reviewed_at  TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    significance REAL CHECK (significance IS NULL OR (significance >= 0 AND significance <= 1)),
    PRIMARY KEY (target, report_id)
)
"""


@dataclass(frozen=True)
class Review:
    """A reviewer's verdict on one report: when, an optional note, an optional significance in 0..1."""

    target: str
    report_id: str
    reviewed_at: datetime
    note: str = ""
    significance: float | None = None


def validate(target: str, report_id: str, note: str = "", significance: float | None = None) -> None:
    """Check a review's fields; raise StoreError naming the bad one."""
    if not NAME_RE.match(target) or not REPORT_ID_RE.match(report_id):
        raise StoreError(f"invalid report reference {target!r}/{report_id!r}")
    if len(note) > MAX_NOTE:
        raise StoreError(f"note too long ({len(note)} characters, at most {MAX_NOTE})")
    if significance is not None and not 0.0 <= significance <= 1.0:
        raise StoreError(f"significance {significance} is outside 0..1")


class ReviewStore:
    """Reads and writes review marks in `<reports_dir>/review.sqlite3` (created on first write)."""

    def __init__(self, reports_dir: Path) -> None:
        self.path = Path(reports_dir) / DB_NAME

    @contextmanager
    def _connect(self, write: bool) -> Iterator[sqlite3.Connection]:
        """Yield a connection in a transaction (committed on success). Raises StoreError on any SQLite error."""
        try:
            if write:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise StoreError(f"{self.path}: unsupported review database version {version}")
                if version == 0:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(_SCHEMA)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield conn
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"review database {self.path}: {exc}") from exc

    def load_all(self) -> dict[tuple[str, str], Review]:
        """Return every review keyed by (target, report_id); empty if the database does not exist yet.

        Raises StoreError if the database is unreadable.
        """
        if not self.path.exists():
            return {}
        with self._connect(write=False) as conn:
            rows = conn.execute("SELECT target, report_id, reviewed_at, note, significance FROM reviews").fetchall()
        return {(r[0], r[1]): _review(r) for r in rows}

    def get(self, target: str, report_id: str) -> Review | None:
        """Return the review of one report, or None. Raises StoreError."""
        if not self.path.exists():
            return None
        with self._connect(write=False) as conn:
            row = conn.execute("SELECT target, report_id, reviewed_at, note, significance FROM reviews "
                               "WHERE target = ? AND report_id = ?", (target, report_id)).fetchone()
        return _review(row) if row else None

    def mark(self, target: str, report_id: str, *, when: datetime, note: str = "",
             significance: float | None = None) -> Review:
        """Mark a report reviewed (replacing an earlier mark) and return the review. Raises StoreError."""
        validate(target, report_id, note, significance)
        review = Review(target, report_id, when.astimezone(UTC), note, significance)
        with self._connect(write=True) as conn:
            conn.execute("INSERT OR REPLACE INTO reviews VALUES (?, ?, ?, ?, ?)",
                         (target, report_id, review.reviewed_at.isoformat(), note, significance))
        logger.info("%s/%s marked reviewed", target, report_id)
        return review

    def unmark(self, target: str, report_id: str) -> bool:
        """Mark a report unreviewed again; return whether it had been reviewed. Raises StoreError."""
        validate(target, report_id)
        with self._connect(write=True) as conn:
            removed = conn.execute("DELETE FROM reviews WHERE target = ? AND report_id = ?",
                                   (target, report_id)).rowcount
        return bool(removed)


def _review(row: tuple) -> Review:
    return Review(target=row[0], report_id=row[1], reviewed_at=datetime.fromisoformat(row[2]),
                  note=row[3] or "", significance=row[4])

"""Compose change-report emails: multipart/alternative (plain text + inline-styled HTML) from report sidecars.

The diff in a mail is the report's changes-only view, cut at `max_diff_chars` with a note and a link to the
full report. Everything page-controlled that reaches a header is made one line and RFC 2047-encoded by the
email package; in the body it is escaped by Jinja's autoescape (HTML part) or left as plain text.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import jinja2

from monitor.errors import ReportError
from monitor.extract import describe
from monitor.models import EmailSettings
from monitor.report.render import HEADINGS, document_ops, environment, stamp
from monitor.report.views import Hunk, hunks, hunks_within

# Headers are kept on one line up to RFC 5322's 998 characters: folding at 78 makes Python's own parser
# read back a leading space in a folded Subject.
MAIL_POLICY = policy.default.clone(max_line_length=998)
# Control characters, line separators, and invisible format characters (zero-width, bidi overrides) that
# could hide or reorder text in a subject line.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]+")
SUBJECT_MAX = 180


def header_safe(value: str, limit: int = SUBJECT_MAX) -> str:
    """Return `value` as one header-safe line: control characters (CR, LF, ...) become spaces, then trimmed."""
    line = re.sub(r" {2,}", " ", _UNSAFE.sub(" ", value)).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class MailItem:
    """One report as it appears in a mail."""

    doc: dict[str, Any]
    heading: str
    link: str
    hunks: tuple[Hunk, ...]
    truncated: bool
    where: str = ""  # the places the change touches, in words


def _where(doc: dict[str, Any]) -> str:
    """Where a report's change is, in words ('' when not known)."""
    return describe(str(p) for p in doc.get("places") or ())


def _link(doc: dict[str, Any], reports_dir: Path, report_url: str | None) -> str:
    name = f"{doc['target']}/{doc['id']}.html"
    if report_url:
        return f"{report_url.rstrip('/')}/{name}"
    return (reports_dir / name).resolve().as_uri()


def subject(docs: list[dict[str, Any]]) -> str:
    """Return the subject naming the kinds, counts and targets (page titles only for a single report)."""
    if len(docs) == 1:
        doc = docs[0]
        text = f"[monitor] {HEADINGS.get(doc['kind'], doc['kind'])}: {doc['target']}"
        if doc.get("ops"):
            text += f" (+{doc['inserted_words']}/-{doc['deleted_words']} words)"
            text += f" in {_where(doc)}" if _where(doc) else ""
        if doc.get("title"):
            text += f" – {doc['title']}"
        return header_safe(text)
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc["kind"]] = counts.get(doc["kind"], 0) + 1
    kinds = ", ".join(f"{n} {HEADINGS.get(k, k).lower()}" for k, n in counts.items())
    targets = sorted({doc["target"] for doc in docs})
    named = ", ".join(targets[:3]) + (f" +{len(targets) - 3} more" if len(targets) > 3 else "")
    return header_safe(f"[monitor] {kinds}: {named}")


def message_key(docs: list[dict[str, Any]]) -> str:
    """Return the idempotency key of a mail: the same reports always give the same key."""
    refs = sorted(f"{doc['target']}/{doc['id']}" for doc in docs)
    return hashlib.sha256("\n".join(refs).encode("utf-8")).hexdigest()[:32]


def compose(docs: list[dict[str, Any]], settings: EmailSettings, reports_dir: Path,
            now: datetime) -> EmailMessage:
    """Return the mail for `docs` (report sidecars, oldest first). Raises ReportError if a template fails."""
    budget = max(500, settings.max_diff_chars // max(1, len(docs)))
    items = []
    for doc in docs:
        cut, truncated = hunks_within(hunks(document_ops(doc)), budget)
        items.append(MailItem(doc=doc, heading=HEADINGS.get(doc["kind"], doc["kind"]),
                              link=_link(doc, reports_dir, settings.report_url), hunks=cut, truncated=truncated,
                              where=_where(doc)))
    context = {"items": items, "generated_at": stamp(now), "stamp": lambda iso: stamp(datetime.fromisoformat(iso))
               if iso else ""}
    try:
        text = environment().get_template("email.txt").render(context)
        html = environment().get_template("email.html").render(context)
    except jinja2.TemplateError as exc:
        raise ReportError(f"cannot render the email: {exc}") from exc
    key = message_key(docs)
    domain = _domain(settings)
    message = _message(settings, subject(docs), now, f"<{key}@{domain}>")
    message["List-Id"] = f"monitor change reports <reports.monitor.{domain}>"
    message["X-Monitor-Targets"] = header_safe(", ".join(sorted({d["target"] for d in docs})), 998)
    message["X-Monitor-Kinds"] = ", ".join(sorted({d["kind"] for d in docs}))
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def probe_message(settings: EmailSettings, now: datetime) -> EmailMessage:
    """Return the message `monitor email-test` sends with `settings`."""
    message = _message(settings, "[monitor] test message", now, make_msgid(domain=_domain(settings)))
    message.set_content(f"This is a test message from monitor, sent through {settings.host}:{settings.port} "
                        f"({settings.security}).\nChange reports will look like the reports in the reports "
                        "folder.\n")
    return message


def _domain(settings: EmailSettings) -> str:
    return header_safe(parseaddr(settings.sender)[1].rpartition("@")[2] or "monitor.invalid", 200)


def _message(settings: EmailSettings, subject_line: str, now: datetime, message_id: str) -> EmailMessage:
    """Return a message with the headers every mail carries: Subject, From, To, Date, Message-ID, Auto-Submitted."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = subject_line
    message["From"] = header_safe(settings.sender, 998)
    message["To"] = ", ".join(header_safe(to, 998) for to in settings.to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    return message

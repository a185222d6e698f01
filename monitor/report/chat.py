"""Compose chat notifications (Slack, Teams, Matrix, ntfy, webhooks... through Apprise) from report sidecars.

A message is a title naming the target and where it changed ("Changed: nato-training-suspended – paragraph
5") and a body with the changed fragments (`[-old-]{+new+}` with a little context), clipped to the channel's
size limit, and a link to the report. Page text is untrusted: it is escaped for the channel's own format
(plain text, Markdown, HTML, or Slack's mrkdwn), and mentions (`@here`, `@channel`, `@everyone`, `<!here>`,
`@room`) are broken with a word joiner so they notify nobody.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Literal

from monitor.extract import describe
from monitor.report.email import message_key
from monitor.report.render import HEADINGS, document_ops
from monitor.report.views import ELIDED, chunks, windowed

Format = Literal["text", "markdown", "html", "slack"]
JOINER = "\u2060"  # WORD JOINER: invisible, and it stops a mention from being one
_MENTION = re.compile(r"([@!])(?=(here|channel|everyone|all|room|group)\b)", re.IGNORECASE)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")
_SLACK_MARKS = re.compile(r"([*_~`])")
FRAGMENT = 300  # characters at most of one changed fragment

__all__ = ["chat_key", "chat_message", "escape", "significance"]


def escape(text: str, fmt: Format) -> str:
    """Return page text safe to put in a message of format `fmt`: nothing in it formats, links or mentions."""
    text = _MENTION.sub(lambda m: m.group(1) + JOINER, text)
    if fmt == "html":
        return html.escape(text, quote=True)
    if fmt == "markdown":
        return _MARKDOWN.sub(r"\\\1", text)
    if fmt == "slack":  # Slack reads <...> as links and mentions and does not honour backslashes
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return _SLACK_MARKS.sub(lambda m: m.group(1) + JOINER, text)
    return text


def significance(doc: dict[str, Any]) -> float:
    """Return the share of the page's words a report's change touches (1.0 for a report without a diff:
    an error, a removal, a recovery)."""
    ops = document_ops(doc)
    if not ops:
        return 1.0
    changed = sum(len(text.split()) for op, text in ops if op)
    total = sum(len(text.split()) for op, text in ops if op >= 0) + sum(len(t.split()) for op, t in ops if op < 0)
    return min(1.0, changed / total) if total else 0.0


def chat_key(channel: str, docs: list[dict[str, Any]]) -> str:
    """Return the idempotency key of a message: the channel and its reports."""
    return f"{channel}-{message_key(docs)}"


def _title(docs: list[dict[str, Any]]) -> str:
    if len(docs) == 1:
        doc = docs[0]
        where = describe(str(p) for p in doc.get("places") or ())
        title = f"{HEADINGS.get(doc['kind'], doc['kind'])}: {doc['target']}"
        return title + (f" – {where}" if where else "")
    counts: dict[str, int] = {}
    for doc in docs:
        counts[doc["kind"]] = counts.get(doc["kind"], 0) + 1
    kinds = ", ".join(f"{n} {HEADINGS.get(k, k).lower()}" for k, n in counts.items())
    return f"{kinds}: " + ", ".join(sorted({d["target"] for d in docs}))


def _fragments(doc: dict[str, Any], fmt: Format) -> list[str]:
    """The changed lines of a report, each with its changes marked and a little context, escaped."""
    out = []
    for chunk in chunks(document_ops(doc)):
        if not chunk.changed:
            continue
        parts = []
        for op, text in windowed(chunk).ops:
            text = text.replace("\n", " ")
            if op == ELIDED:
                parts.append("…")
            elif op == -1:
                parts.append(_mark(escape(text, fmt), "del", fmt))
            elif op == 1:
                parts.append(_mark(escape(text, fmt), "ins", fmt))
            else:
                parts.append(escape(text, fmt))
        line = "".join(parts).strip()
        out.append(line if len(line) <= FRAGMENT else line[:FRAGMENT - 1] + "…")
    return out


def _mark(text: str, kind: str, fmt: Format) -> str:
    if not text.strip():
        return text
    if fmt == "html":
        return f"<{kind}>{text}</{kind}>"
    if fmt == "markdown":
        return f"~~{text}~~" if kind == "del" else f"**{text}**"
    if fmt == "slack":
        return f"~{text}~" if kind == "del" else f"*{text}*"
    return f"[-{text}-]" if kind == "del" else f"{{+{text}+}}"


def _link(doc: dict[str, Any], base_url: str | None, reports_dir: Path) -> str:
    name = f"{doc['target']}/{doc['id']}.html"
    return f"{base_url.rstrip('/')}/{name}" if base_url else (reports_dir / name).resolve().as_uri()


def chat_message(docs: list[dict[str, Any]], fmt: Format, body_limit: int, title_limit: int,
                 base_url: str | None, reports_dir: Path) -> tuple[str, str]:
    """Return (title, body) for `docs` (report sidecars, oldest first) in format `fmt`, the body within
    `body_limit` characters and the title within `title_limit`; each report keeps its link."""
    title = escape(_title(docs), "text" if fmt != "html" else "html")
    if len(title) > title_limit:
        title = title[: max(1, title_limit - 1)] + "…"
    newline = "<br/>" if fmt == "html" else "\n"
    sections = []
    share = max(200, body_limit // max(1, len(docs)))
    for doc in docs:
        link = _link(doc, base_url, reports_dir)
        head = escape(f"{HEADINGS.get(doc['kind'], doc['kind'])}: {doc['target']}", fmt) if len(docs) > 1 else ""
        if doc.get("error"):
            head = (head + newline if head else "") + escape(str(doc["error"]), fmt)
        lines = [head] if head else []
        room = share - len(link) - 40
        for fragment in _fragments(doc, fmt):
            if sum(len(line) + 1 for line in lines) + len(fragment) > room:
                lines.append("(more in the report)")
                break
            lines.append(fragment)
        lines.append(f'<a href="{html.escape(link)}">{html.escape(link)}</a>' if fmt == "html" else link)
        sections.append(newline.join(lines))
    body = (newline + newline).join(sections)
    if len(body) > body_limit:
        body = body[: max(1, body_limit - 1)] + "…"
    return title, body

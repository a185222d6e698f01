"""Report stage: owns everything a person reads about a change, rendered from Jinja templates (autoescaped).

views.py splits a diff into the inline, side-by-side and changes-only views; render.py turns a `ChangeReport`
into the HTML and text documents; html.py writes a report's files (HTML, text, JSON sidecar) atomically;
catalog.py lists and resolves the written reports; site.py regenerates the static index, per-target pages and
the Atom feed; email.py composes the notification mail. Page text is untrusted everywhere here.
"""

from monitor.report.catalog import ReportEntry, list_reports, read_sidecar, resolve, sidecars
from monitor.report.email import MAIL_POLICY, compose, message_key, probe_message
from monitor.report.html import remove_reports, report_refs, write_report
from monitor.report.render import document_context, is_web_url, report_document, stamp
from monitor.report.site import SiteUpdates, publish

__all__ = [
    "MAIL_POLICY", "ReportEntry", "SiteUpdates", "compose", "document_context", "is_web_url", "list_reports",
    "message_key", "probe_message", "publish", "read_sidecar", "remove_reports", "report_document",
    "report_refs", "resolve", "sidecars", "stamp", "write_report",
]

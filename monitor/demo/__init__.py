"""The offline demo: serve the bundled defense.gov fixture pages on loopback, check, edit, check again."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from monitor.clock import Clock, utcnow
from monitor.config import DEFAULT_USER_AGENT
from monitor.daemon import run_checks
from monitor.demo.server import Page, PageServer
from monitor.models import FetchSettings, RunReport, Settings, Target
from monitor.store import SnapshotStore, write_atomic

logger = logging.getLogger(__name__)

# target name -> URL path, as on defense.gov
DEMO_PAGES = {
    "nato-training-suspended":
        "/News/News-Stories/Article/Article/2051803/nato-temporarily-suspends-training-mission-in-iraq/",
    "mattis-stoltenberg-remarks":
        "/News/Transcripts/Transcript/Article/1545787/"
        "remarks-by-secretary-mattis-and-secretary-general-stoltenberg-to-the-defeat-isi/",
}
# The edit the demo makes to the NATO story between the two checks: a reworded sentence and a new caption.
DEMO_EDITS = (
    ("Jens Stoltenberg said in Brussels today.", "Jens Stoltenberg said in Brussels on Tuesday."),
    ("Man speaks at podium.", "Man speaks at a podium in Brussels."),
)


@dataclass(frozen=True)
class DemoRun:
    """What the demo did: where it worked, the two runs, and the change report it produced."""

    workdir: Path
    first: RunReport
    second: RunReport
    report: Path | None
    index: Path
    config: Path  # a config for the demo's folder, so `monitor --config <it> serve` reviews the demo's reports


def page_html(name: str, live: bool = False) -> bytes:
    """Return the bundled HTML of the demo page `name`: our 2020 fixture markup, or with `live` the documented
    2024-25 war.gov markup (DMA banner, article header with its date line; made by tests/extract/variants.py)."""
    folder = resources.files("monitor.demo").joinpath("pages")
    return (folder.joinpath("live") if live else folder).joinpath(f"{name}.html").read_bytes()


def baseline_text(name: str) -> str:
    """Return the bundled seed baseline text of the demo page `name`."""
    return resources.files("monitor.demo").joinpath("baseline", f"{name}.txt").read_text(encoding="utf-8")


def edited_html(name: str, live: bool = False) -> bytes:
    """Return the demo page `name` with DEMO_EDITS applied (raises ValueError if an edit does not apply)."""
    html = page_html(name, live).decode("utf-8")
    for old, new in DEMO_EDITS:
        if old not in html:
            raise ValueError(f"demo edit {old!r} not found in {name}")
        html = html.replace(old, new)
    return html.encode("utf-8")


def run_demo(workdir: Path, clock: Clock = utcnow) -> DemoRun:
    """Run the whole loop offline in `workdir` (snapshots/ and reports/ are created there); return what happened.

    Raises MonitorError if the store or reports cannot be written.
    """
    # The pages in today's real markup, against the seed baseline: the first check re-aligns the baseline (the
    # live banner has an "A" the seed lost: site chrome, no alarm); the edit is then a real change.
    routes = {path: Page(page_html(name, live=True)) for name, path in DEMO_PAGES.items()}
    with PageServer(routes) as server:
        targets = tuple(Target(name=name, url=server.url(path), profile="defense.gov", timeout=10)
                        for name, path in DEMO_PAGES.items())
        settings = Settings(config_path=None, snapshots_dir=workdir / "snapshots", reports_dir=workdir / "reports",
                            fetch=FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0), targets=targets)
        store = SnapshotStore(settings.snapshots_dir)
        for target in targets:
            store.import_baseline(target.name, baseline_text(target.name), taken_at=clock(),
                                  origin=f"monitor/demo/baseline/{target.name}.txt")
        first = run_checks(settings, targets, clock=clock)
        nato = "nato-training-suspended"
        server.set(DEMO_PAGES[nato], Page(edited_html(nato, live=True)))
        second = run_checks(settings, targets, clock=clock)
    report = next((r.report for r in second.results if r.report), None)
    return DemoRun(workdir=workdir, first=first, second=second, report=report,
                   index=settings.reports_dir / "index.html", config=write_demo_config(workdir))


def write_demo_config(workdir: Path) -> Path:
    """Write `workdir/config.yaml` naming the demo's folders and its pages at their real defense.gov URLs.

    Returns its path. Raises StoreError if it cannot be written.
    """
    doc = {"snapshots_dir": "snapshots", "reports_dir": "reports",
           "targets": [{"name": name, "url": f"https://www.defense.gov{path}", "profile": "defense.gov"}
                       for name, path in DEMO_PAGES.items()]}
    path = workdir / "config.yaml"
    write_atomic(path, ("# Written by `monitor demo`.\n" + yaml.safe_dump(doc, sort_keys=False)).encode("utf-8"))
    return path

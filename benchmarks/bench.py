"""Benchmark monitor against urlwatch (and the fetch/parse floors) on the shared defense.gov-like corpus.

    python benchmarks/bench.py [--pages 500] [--reps 5] [--scale 2000] [--browser 100] [--md FILE]

Generates the corpus with ../shared/bench/corpus.py (under /tmp), then for every repetition, in turn:
our run (fresh state: round 0, the baseline, every page new; then round 1, noise everywhere and 10 % edited)
and the peers' runs (../shared/bench/peers.py, one repetition each, the same corpus). Our pages are served by
../shared/bench/serve.py (nginx when installed), and each `monitor check` is one process whose CPU time and
peak RSS come from wait4(). Precision and recall score the pages reported changed against round-1/truth.json.
Also: the same for `--scale` pages (is the cost linear?), bytes on disk per target, a check that the fast
path (content regions) and the full normalization agree on every page of both rounds, and the first
`--browser` pages (100) fetched through the real browser beside the same pages over plain HTTP, and the
first `--engine-pages` (200) through the distributed engine with 1, 2 and 4 workers beside a local run
(engine_bench.py), and the CPU per 1,000 checks of unchanged pages in a running daemon beside urlwatch run as
cron would, `--daemon-checks` (daemon_bench.py).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from harness import ROOT, SHARED, WORK, Run, Server, corpus, measure, remove_later, remove_left, truth_of, write_config

PEER_CASES = "urlwatch/css+html2text,urlwatch/html2text,floor/fetch,floor/lxml"


def ours(corpus_dir: Path, pages: int) -> tuple[Run, Run, int]:
    """One repetition: baseline then diff run in a fresh state dir; also the bytes stored per target."""
    server = Server(corpus_dir)
    state = Path(tempfile.mkdtemp(prefix="monitor-bench-state-", dir=WORK))
    try:
        config = write_config(state, server.url, corpus_dir)
        base = measure(config, pages, "baseline", None)
        server.switch(1)
        diff = measure(config, pages, "diff", truth_of(corpus_dir))
        stored = sum(p.stat().st_size for p in (state / "snapshots").rglob("*") if p.is_file())
        if base.errors or diff.errors:  # timings of failed checks mean nothing
            raise SystemExit(f"monitor reported {base.errors} errors in the baseline round and {diff.errors} in the "
                             f"diff round (can the server read {corpus_dir}?)")
        return base, diff, stored
    finally:
        server.stop()
        remove_later(state)


def peers(pages: int, corpus_dir: Path, out_json: Path) -> None:
    """One repetition of the peers' cases (peers.py serves the same corpus itself)."""
    subprocess.run([sys.executable, str(SHARED / "peers.py"), "--pages", str(pages), "--reps", "1",
                    "--corpus", str(corpus_dir), "--cases", PEER_CASES, "--json", str(out_json),
                    "--state-root", str(WORK / "peer-state")], check=True, stdout=subprocess.DEVNULL)


def browser_figures(corpus_dir: Path, pages: int) -> list[str]:
    """The baseline round of the first `pages` corpus pages fetched over HTTP, then through the browser
    (Playwright + chromium), 2 workers each (one browser per worker): rows of wall, CPU, pages/s, RSS."""
    rows = []
    for via in ("http", "browser"):
        server = Server(corpus_dir)
        state = Path(tempfile.mkdtemp(prefix=f"monitor-bench-{via}-", dir=WORK))
        try:
            run = measure(write_config(state, server.url, corpus_dir, pages=pages, via=via, workers=2), pages,
                          "baseline", None)
        finally:
            server.stop()
            shutil.rmtree(state, ignore_errors=True)
        if run.errors:
            raise SystemExit(f"fetch via {via}: {run.errors} of {pages} pages failed (is chromium installed?)")
        rows.append(f"| via {via}, {pages} pages, baseline round, 2 workers | {run.wall:.2f} | {run.cpu:.2f} | "
                    f"{pages / run.wall:.0f} | {run.cpu / pages * 1000:.1f} | {run.rss_mib:.0f} |")
    return ["", "| browser beside HTTP (1 run each) | wall s | CPU s | pages/s | CPU ms/page | peak RSS MiB |",
            "|---|---|---|---|---|---|", *rows]


def equivalence(corpus_dir: Path) -> tuple[int, int]:
    """Return (pages compared, mismatches) of fast-path vs full normalization over rounds 0 and 1."""
    sys.path.insert(0, str(ROOT))
    from monitor.extract import extract
    from monitor.extract.regions import cut
    from monitor.fetch import read_html

    pages = sorted(corpus_dir.glob("round-[01]/page-*.html"))
    bad = 0
    for page in pages:
        body = read_html(page.read_bytes(), "text/html")  # as a check reads it: the cut gets the bytes
        piece = cut(body.utf8, "defense.gov")
        bad += piece is None or piece.content() != extract(body.text, "defense.gov")
    return len(pages), bad


def storage(pages: int = 50, rounds: int = 20) -> tuple[float, float]:
    """Run ours and urlwatch (css + html2text) through `rounds` diff rounds on the same corpus; return the
    bytes stored per target by each (our snapshots folder; urlwatch's cache database)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("peers", SHARED / "peers.py")
    assert spec and spec.loader
    peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(peer)
    corpus_dir = corpus(pages, rounds + 1, seed=2)
    paths = (corpus_dir / "urls.txt").read_text().split()
    server = Server(corpus_dir)
    state = Path(tempfile.mkdtemp(prefix="monitor-bench-storage-", dir=WORK))
    try:
        config = write_config(state, server.url, corpus_dir)
        (state / "uw").mkdir()
        command = peer.write_state(peer.CASES["urlwatch/css+html2text"], str(state / "uw"), server.url, paths)
        env = dict(os.environ, HOME=str(state / "uw" / "home"), LANG="C.UTF-8")
        for round_no in range(rounds + 1):
            server.switch(round_no)
            measure(config, pages, "round", None)
            subprocess.run(command, cwd=state / "uw", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
        ours_bytes = sum(p.stat().st_size for p in (state / "snapshots").rglob("*") if p.is_file())
        theirs = sum(p.stat().st_size for p in (state / "uw").glob("cache.db*"))
        return ours_bytes / pages, theirs / pages
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)


def big_diff_seconds() -> float:
    """Seconds to diff a ~1 MB text (seed paragraphs) with 20 scattered one-word edits."""
    import random

    sys.path.insert(0, str(ROOT))
    from monitor.diff import diff

    paragraphs = [p for seed in sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))
                  for p in seed.read_text().split("\n\n")]
    rnd = random.Random(1)
    lines: list[str] = []
    while sum(map(len, lines)) < 1_000_000:
        lines.append(rnd.choice(paragraphs))
    edited = list(lines)
    for i in rnd.sample(range(len(lines)), 20):
        words = edited[i].split(" ")
        words[rnd.randrange(len(words))] = "EDITED"
        edited[i] = " ".join(words)
    started = time.perf_counter()
    change = diff("\n\n".join(lines), "\n\n".join(edited))
    took = time.perf_counter() - started
    assert change is not None and change.inserted_words == 20
    return took


def _median(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _row(label: str, runs: list[Run]) -> str:
    walls = [r.wall for r in runs]
    pages = runs[0].pages
    rate = pages / statistics.median(walls)
    scored = [r for r in runs if r.run == "diff"]
    pr = "-"
    if scored:
        r = scored[0]
        precision = r.true_positives / r.flagged if r.flagged else 0.0
        recall = r.true_positives / r.edited if r.edited else 0.0
        pr = f"{precision:.2f} / {recall:.2f}"
    return (f"| {label} | {_median(walls)} | {statistics.median(r.cpu for r in runs):.2f} | {rate:.0f} | {pr} | "
            f"{statistics.median(r.rss_mib for r in runs):.0f} |")


def _paired_ratios(runs: list[Run], files: list[Path], case: str, phase: str) -> list[float]:
    """Our speed over the peer's, repetition by repetition: the runs of one repetition are seconds apart, so
    the ratio is less exposed to a noisy machine than a ratio of medians taken over the whole benchmark."""
    out = []
    for run, path in zip(runs, files, strict=False):
        walls = [float(r["wall_s"]) for r in json.loads(path.read_text())["records"]
                 if r["case"] == case and r["phase"] == phase]
        if walls:
            out.append(walls[0] / run.wall)
    return out


def _peer_rows(files: list[Path]) -> tuple[list[str], dict[str, float]]:
    """Table rows from peers.py's JSON files (one per repetition), and pages/s per "case phase"."""
    runs: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for path in files:
        for record in json.loads(path.read_text())["records"]:
            runs[(record["case"], record["phase"])].append(record)
    rows, rates = [], {}
    for (case, phase), records in sorted(runs.items()):
        walls = [float(r["wall_s"]) for r in records]
        cpu = statistics.median(float(r["cpu_s"]) for r in records)
        rss = statistics.median(float(r["maxrss_kb"]) / 1024 for r in records)
        rate = records[0]["pages"] / statistics.median(walls)
        rates[f"{case} {phase}"] = rate
        precision, recall = records[0].get("precision"), records[0].get("recall")
        pr = f"{precision:.2f} / {recall:.2f}" if precision is not None and recall is not None else "-"
        rows.append(f"| {case}, {phase} | {_median(walls)} | {cpu:.2f} | {rate:.0f} | {pr} | {rss:.0f} |")
    return rows, rates


def main() -> None:
    """Run everything and print (and write) the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--scale", type=int, default=2000, help="also run ours on this many pages (0: skip)")
    parser.add_argument("--no-peers", action="store_true", help="only this project")
    parser.add_argument("--browser", type=int, default=100, help="pages fetched through the browser (0: skip)")
    parser.add_argument("--engine-pages", type=int, default=200, help="pages through the engine (0: skip)")
    parser.add_argument("--engine-workers", default="1,2,4", help="worker counts for the engine table")
    parser.add_argument("--daemon-checks", type=int, default=1000,
                        help="checks of unchanged pages measured in a running daemon (0: skip)")
    parser.add_argument("--md", type=Path, help="write the table here too")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    # The peers are installed by pip, which compiles them; an editable install of ours is not, and with
    # PYTHONDONTWRITEBYTECODE set every `monitor check` would compile the package again (70 ms).
    compileall.compile_dir(ROOT / "monitor", quiet=1)
    corpus_dir = corpus(args.pages)
    if not args.no_peers:  # installs nginx, GNU time and the peers' venvs when missing
        subprocess.run([sys.executable, str(SHARED / "peers.py"), "--setup", "--pages", str(args.pages), "--reps",
                        "1", "--corpus", str(corpus_dir), "--cases", "floor/fetch", "--json",
                        str(WORK / "setup.json"), "--state-root", str(WORK / "peer-state")], check=True,
                       stdout=subprocess.DEVNULL)
    base_runs: list[Run] = []
    diff_runs: list[Run] = []
    stored: list[int] = []
    peer_files: list[Path] = []
    for rep in range(args.reps):
        base, diff, size = ours(corpus_dir, args.pages)
        base_runs.append(base)
        diff_runs.append(diff)
        stored.append(size)
        print(f"rep {rep + 1}: monitor baseline {base.wall:.2f}s, diff {diff.wall:.2f}s", file=sys.stderr)
        if not args.no_peers:
            out = WORK / f"peers-{args.pages}-rep{rep}.json"
            peers(args.pages, corpus_dir, out)
            peer_files.append(out)
    lines = [f"| per round of {args.pages} pages, median of {args.reps} (min-max) | wall s | CPU s | pages/s | "
             "precision / recall | peak RSS MiB |", "|---|---|---|---|---|---|",
             _row("monitor, defense.gov profile, diff round", diff_runs),
             _row("monitor, baseline round (all new)", base_runs)]
    rates = {}
    if peer_files:
        rows, rates = _peer_rows(peer_files)
        lines += rows
    if args.scale:
        big = corpus(args.scale)
        b, d, _ = ours(big, args.scale)
        lines += [_row(f"monitor, {args.scale} pages, diff round (1 run)", [d]),
                  _row(f"monitor, {args.scale} pages, baseline round (1 run)", [b])]
    compared, mismatches = equivalence(corpus_dir)
    if args.browser:
        lines += browser_figures(corpus_dir, min(args.browser, args.pages))
    if args.engine_pages:
        from engine_bench import engine_figures

        lines += engine_figures(corpus_dir, min(args.engine_pages, args.pages),
                                tuple(int(n) for n in args.engine_workers.split(",")))
    if args.daemon_checks:
        from daemon_bench import daemon_figures

        lines += daemon_figures(corpus_dir, args.pages, args.daemon_checks, not args.no_peers)
    lines.append("")
    for phase, runs in (("diff", diff_runs), ("baseline", base_runs)):
        ours_rate = args.pages / statistics.median(r.wall for r in runs)
        uw = rates.get(f"urlwatch/css+html2text {phase}")
        paired = _paired_ratios(runs, peer_files, "urlwatch/css+html2text", phase)
        lines.append(f"monitor {phase} round: {ours_rate:.0f} pages/s"
                     + (f"; urlwatch css+html2text: {uw:.0f} pages/s; ratio {ours_rate / uw:.2f}x" if uw else "")
                     + (f"; per repetition (each run beside its peer run): median {statistics.median(paired):.2f}x "
                        f"({min(paired):.2f}-{max(paired):.2f})" if paired else ""))
    lines += [f"stored per target after the two rounds: {statistics.median(stored) / args.pages / 1024:.1f} KiB",
              f"fast path vs full normalization: {compared} pages compared, {mismatches} differ"]
    if not args.no_peers:
        ours_kib, uw_kib = (b / 1024 for b in storage())
        lines.append(f"bytes on disk per target after 20 diff rounds (50 pages): monitor {ours_kib:.1f} KiB "
                     f"(text, WARC captures, metadata, state), urlwatch cache {uw_kib:.1f} KiB")
    lines.append(f"1 MB text with 20 scattered edits: diffed in {big_diff_seconds():.2f} s")
    remove_left()
    table = "\n".join(lines)
    print(table)
    if args.md:
        args.md.write_text(table + "\n")


if __name__ == "__main__":
    main()

"""The content-region fast path gives exactly the slow path's results: per page, and through whole checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.check import CheckContext, check_target
from monitor.config import DEFAULT_USER_AGENT
from monitor.demo.server import Page, PageServer
from monitor.errors import NormalizeError
from monitor.extract import extract
from monitor.extract.regions import cut
from monitor.fetch import Fetcher, decode_html, read_html
from monitor.models import FetchSettings, Target
from monitor.store import SnapshotStore
from tests.conftest import ROOT

CORPUS_PY = ROOT.parent / "shared" / "bench" / "corpus.py"
PAGES = sorted((ROOT / "tests" / "cases").glob("*/*/after.html")) + sorted((ROOT / "monitor" / "demo" / "pages").glob(
    "*.html"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CORPUS_PY.exists():
        pytest.skip("../shared/bench is not beside this checkout")
    out = tmp_path_factory.mktemp("corpus") / "c"
    subprocess.run([sys.executable, str(CORPUS_PY), "-n", "30", "-r", "3", "-s", "11", str(out)], check=True,
                   capture_output=True)
    return out


def same_content(html: str, profile: str) -> None:
    """The cut page's tree gives what normalizing the whole page gives."""
    piece = cut(html, profile)
    assert piece is not None
    assert piece.content() == extract(html, profile)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_cut_pages_normalize_exactly_like_whole_pages(path: Path) -> None:
    same_content(decode_html(path.read_bytes()), "defense.gov")


def test_every_corpus_page_normalizes_the_same_cut_or_whole(corpus: Path) -> None:
    pages = sorted(corpus.glob("round-*/page-*.html"))
    assert len(pages) == 30 * 3  # rounds 0..2
    for page in pages:
        same_content(decode_html(page.read_bytes()), "defense.gov")
        # The check cuts the body's bytes as they came (valid UTF-8): the same cut as from the decoded text.
        body = read_html(page.read_bytes(), "text/html; charset=utf-8")
        assert body.valid_utf8 and body.utf8 is body.body  # not decoded
        from_bytes, from_text = cut(body.utf8, "defense.gov"), cut(body.text, "defense.gov")
        assert from_bytes and from_text and from_bytes.fingerprint == from_text.fingerprint


def test_noise_leaves_the_fingerprint_and_edits_change_it(corpus: Path) -> None:
    edited = set(json.loads((corpus / "round-1" / "truth.json").read_text())["edited"])
    for n in range(1, 31):
        before = cut(decode_html((corpus / "round-0" / f"page-{n:04d}.html").read_bytes()), "defense.gov")
        after = cut(decode_html((corpus / "round-1" / f"page-{n:04d}.html").read_bytes()), "defense.gov")
        assert before and after
        assert (before.fingerprint != after.fingerprint) == (n in edited), f"page {n}"


def test_generic_pages_and_odd_markup_cut_the_same() -> None:
    for html in ["<html><body><main><p>a<br>b</p><nav>x</nav></main><footer>f</footer></body></html>",
                 "<html><body><article><h1>T</h1><p hidden>h</p><p>t</p></article></body></html>",
                 "<p>no main<p>second", "<html><body><div role=main><pre> a\n  b</pre></div></body></html>",
                 "<main>a<!-- c -->b<nav>n</nav>tail<script>s</script>after<br>x<img alt=i>"
                 "<figure><img alt=pic><figcaption>cap</figcaption></figure><table><tr><td>1<td>2</table></main>",
                 "<main><a href=' /x '>a</a><a href='#top'>t</a><area href='/m'><a href='/x'>again</a></main>",
                 "<html><head><title> T \u200b itle </title></head><body><main><p>t</p></main></body></html>"]:
        same_content(html, "generic")


def test_a_region_inside_a_dropped_part_leaves_the_page_to_the_full_path() -> None:
    html = "<html><body><nav><main><p>in nav</p></main></nav><article><p>text</p></article></body></html>"
    piece = cut(html, "generic")
    assert piece is not None and piece.content() is None
    assert extract(html, "generic").text == "text"


def test_the_tree_shortcut_raises_what_extract_raises() -> None:
    html = "<html><body><section class='usa-banner'>An official website</section></body></html>"  # no article
    piece = cut(html, "defense.gov")
    assert piece is not None
    with pytest.raises(NormalizeError, match="none of"):
        extract(html, "defense.gov")
    with pytest.raises(NormalizeError, match="none of"):
        piece.content()


def test_checks_with_and_without_the_fast_path_agree_round_after_round(corpus: Path, tmp_path: Path) -> None:
    names = [f"page-{n:04d}" for n in range(1, 31)]
    rounds = sorted(p.name for p in corpus.glob("round-*"))
    with PageServer() as server, Fetcher(FetchSettings(user_agent=DEFAULT_USER_AGENT, retries=0)) as fetcher:
        runs = {}
        for fast in (True, False):
            ctx = CheckContext(fetcher=fetcher, store=SnapshotStore(tmp_path / f"s{fast}"),
                               reports_dir=tmp_path / f"r{fast}", fast=fast)
            runs[fast] = (ctx, [])
        for round_name in rounds:
            for name in names:
                server.set(f"/{name}", Page((corpus / round_name / f"{name}.html").read_bytes(), validators=False))
            for ctx, seen in runs.values():
                for name in names:
                    result = check_target(Target(name=name, url=server.url(f"/{name}"), profile="defense.gov"), ctx)
                    seen.append((round_name, name, result.status, result.change))
    assert runs[True][1] == runs[False][1], "same statuses and the same changes"
    fast_store, slow_store = runs[True][0].store, runs[False][0].store
    for name in names:
        texts = [[s.read_text(x) for x in s.history(name)] for s in (fast_store, slow_store)]
        assert texts[0] == texts[1]
    assert sum(1 for _, _, status, _ in runs[True][1] if status == "changed") > 0

"""Noise and edits for defense.gov pages, as a defense.gov server varies them; and the case corpus generator.

Each noise function takes the page's HTML and a random generator and returns the page as it might be
served on another request: same article, different tokens, markup, whitespace or encoding. Each edit
function returns the page with one real editorial change.

`python -m tests.noise` rewrites tests/cases/ from the fixture pages (deterministic).
"""

from __future__ import annotations

import base64
import html as htmllib
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from monitor.demo import page_html

CASES_DIR = Path(__file__).parent / "cases"
PAGES = ("nato-training-suspended", "mattis-stoltenberg-remarks")
BLOCK = ("html|head|body|form|div|p|section|header|footer|main|article|figure|figcaption|nav|ul|ol|li|h1|h2|h3|"
         "table|tr|td|th|script|link|meta|title|input|noscript")
_BLOCK_TAG = re.compile(rf"</?(?:{BLOCK})\b[^>]*>", re.I)
_TAG = re.compile(r"<([a-zA-Z][\w-]*)(\s[^<>]*?)?(/?)>")
_ATTR = re.compile(r"""([^\s=/>]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?""")

Noise = Callable[[str, random.Random], str]


def _token(rng: random.Random, nbytes: int) -> str:
    return base64.b64encode(rng.randbytes(nbytes)).decode()


def _split(html: str) -> list[tuple[bool, str]]:
    """Return the page as (is_markup, text) pieces; script/style bodies and tags count as markup."""
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in re.finditer(r"<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<[^>]+>", html, re.S | re.I):
        if m.start() > pos:
            out.append((False, html[pos:m.start()]))
        out.append((True, m.group(0)))
        pos = m.end()
    if pos < len(html):
        out.append((False, html[pos:]))
    return out


# --- noise -------------------------------------------------------------------------------------------------

def viewstate(html: str, rng: random.Random) -> str:
    """New ASP.NET __VIEWSTATE / __EVENTVALIDATION / verification tokens (different lengths too)."""
    for name in ("__VIEWSTATE", "__EVENTVALIDATION"):
        html = re.sub(rf'(name="{name}" id="{name}" value=")[^"]*',
                      lambda m: m.group(1) + _token(rng, rng.randint(40, 400)), html)
    return re.sub(r'(name="__RequestVerificationToken" type="hidden" value=")[^"]*',
                  lambda m: m.group(1) + _token(rng, 42), html)


def cache_busters(html: str, rng: random.Random) -> str:
    """A new deploy: every ?cdv= and ?ver= asset query string changes."""
    html = re.sub(r"\?cdv=\d+", lambda m: f"?cdv={rng.randint(1918, 2999)}", html)
    return re.sub(r"\?ver=[\w-]+", lambda m: f"?ver={rng.randint(2021, 2025)}-0{rng.randint(1, 9)}-"
                  f"1{rng.randint(0, 9)}-{rng.randint(100000, 999999)}-{rng.randint(100, 999)}", html)


def inline_scripts(html: str, rng: random.Random) -> str:
    """Inline script values (render time, session token) and WebResource.axd tokens change."""
    html = re.sub(r'"render":"[^"]*"', lambda m: f'"render":"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0'
                  f'{rng.randint(0, 9)}:'
                  f'{rng.randint(10, 59)}:{rng.randint(10, 59)}.{rng.randint(1000000, 9999999)}-05:00",'
                  f'"sessionToken":"{_token(rng, 18)}"', html)
    return re.sub(r"WebResource\.axd\?d=[^&\"]+&amp;t=\d+",
                  lambda m: f"WebResource.axd?d={_token(rng, 45).replace('+', '-').replace('/', '_')}"
                            f"&amp;t={rng.randint(10**17, 10**18)}", html)


def csp_nonce(html: str, rng: random.Random) -> str:
    """A fresh CSP nonce on every script."""
    nonce = _token(rng, 16).rstrip("=")
    return re.sub(r'nonce="[^"]*"', f'nonce="{nonce}"', html)


def dnn_module_ids(html: str, rng: random.Random) -> str:
    """DNN renumbers the article module: DnnModule-NNNN, dnn_ctrNNNN_*, the <a name> anchor."""
    match = re.search(r"DnnModule-(\d+)", html)
    assert match, "fixture page without a DNN module id"
    return html.replace(match.group(1), str(rng.randint(3000, 9999)))


def related_stories(html: str, rng: random.Random) -> str:
    """Another set of related stories (ids, titles and count change; they are attribute-only cards).

    Pages without a related box (transcripts) keep having none: whether there is one is the article's own.
    """
    cards = "\n".join(
        f'<related-story article-id="{rid}" article-title="Related article {rid}" '
        f'article-url="/News/News-Stories/Article/Article/{rid}/" article-type="News"></related-story>'
        for rid in rng.sample(range(2_000_000, 4_000_000), rng.randint(2, 6)))
    if '<div class="related-cards">' not in html:
        return html
    return re.sub(r'(<div class="related-cards">).*?(</div>)', lambda m: f"{m.group(1)}\n{cards}\n{m.group(2)}",
                  html, count=1, flags=re.S)


def footer_date(html: str, rng: random.Random) -> str:
    """The footer says when and where the page was generated."""
    when = f"Nov. {rng.randint(1, 28)}, 2025 {rng.randint(10, 23)}:{rng.randint(10, 59)}:{rng.randint(10, 59)}"
    server = f"{rng.choice('ABCDEF')}{rng.randint(10, 24)}"
    return re.sub(r"Page generated [^<]*", f"Page generated {when} ET | Server {server}", html)


def attribute_order(html: str, rng: random.Random) -> str:
    """Attributes of every tag in another order (and other quoting)."""
    def shuffle(m: re.Match[str]) -> str:
        name, attrs, close = m.group(1), m.group(2) or "", m.group(3)
        parts = [a.group(0) for a in _ATTR.finditer(attrs)]
        rng.shuffle(parts)
        return f"<{name}{''.join(' ' + p for p in parts)}{close}>"
    return "".join(_TAG.sub(shuffle, text) if markup and not text.startswith(("<script", "<style", "<!--")) else text
                   for markup, text in _split(html))


def indentation(html: str, rng: random.Random) -> str:
    """Re-indented source: every line gets another amount of leading spaces or tabs."""
    return "\n".join(rng.choice(["", "  ", "    ", "\t", "\t\t"]) * rng.randint(0, 3) + line.lstrip(" \t")
                     for line in html.split("\n"))


def line_wrapping(html: str, rng: random.Random) -> str:
    """Text re-wrapped at 60-100 columns (line breaks inside paragraphs, between words)."""
    def wrap(text: str) -> str:
        width = rng.randint(60, 100)
        out, col = [], 0
        for word in re.split(r"( +)", text):
            if word.startswith(" ") and col > width:
                out.append("\n")
                col = 0
                continue
            out.append(word)
            col += len(word)
        return "".join(out)
    return "".join(text if markup else wrap(text) for markup, text in _split(html))


def entities_to_utf8(html: str, rng: random.Random) -> str:
    """Character references in text spelled as UTF-8 characters (&rsquo; -> ’, &#39; -> ', &nbsp; -> U+00A0)."""
    return "".join(text if markup else htmllib.unescape(text).replace("&", "&amp;").replace("<", "&lt;")
                   for markup, text in _split(html))


def utf8_to_entities(html: str, rng: random.Random) -> str:
    """Non-ASCII characters and apostrophes in text spelled as named or numeric character references."""
    named = {"’": "&rsquo;", "‘": "&lsquo;", "“": "&ldquo;", "”": "&rdquo;", "–": "&ndash;", "—": "&mdash;",
             "\u00a0": "&nbsp;", "'": "&#39;"}

    def encode(text: str) -> str:
        return "".join(named.get(c) or (f"&#{ord(c)};" if ord(c) > 127 else c) for c in text)
    return "".join(text if markup else encode(text) for markup, text in _split(html))


def minified(html: str, rng: random.Random) -> str:
    """Minified markup: whitespace between block-level tags removed, other whitespace runs collapsed."""
    out = []
    pieces = _split(html)
    for i, (markup, text) in enumerate(pieces):
        if not markup and not text.strip():
            before = pieces[i - 1][1] if i else ""
            after = pieces[i + 1][1] if i + 1 < len(pieces) else ""
            blocky = _BLOCK_TAG.fullmatch(before) or _BLOCK_TAG.fullmatch(after) or before.startswith("<!--")
            out.append("" if blocky else " ")
        elif not markup:
            out.append(re.sub(r"[ \t\r\n]+", " ", text))
        else:
            out.append(text)
    return "".join(out)


def pretty(html: str, rng: random.Random) -> str:
    """Pretty-printed markup: every block-level tag on its own line, indented by depth."""
    out, depth = [], 0
    for markup, text in _split(html):
        if markup and _BLOCK_TAG.fullmatch(text):
            closing = text.startswith("</")
            depth = max(0, depth - 1) if closing else depth
            out.append("\n" + "  " * depth + text + "\n" + "  " * depth)
            void = re.match(r"<(?:link|meta|input)\b", text, re.I)
            if not closing and not void:
                depth += 1
        else:
            out.append(text)
    return "".join(out)


def crlf(html: str, rng: random.Random) -> str:
    """Windows line endings."""
    return html.replace("\r\n", "\n").replace("\n", "\r\n")


def comments(html: str, rng: random.Random) -> str:
    """Cache and render-time comments between tags (ClientDependency, output cache)."""
    return re.sub(r"(</(?:p|div|figure)>)", lambda m: m.group(1) + f"<!-- cache {rng.randint(0, 10**9)} -->", html)


def head_metadata(html: str, rng: random.Random) -> str:
    """Head metadata that varies: description, canonical URL query, a verification meta tag."""
    verification = f'<meta name="google-site-verification" content="{_token(rng, 18)}">'
    html = html.replace('<link rel="canonical" href="', verification + '\n<link rel="canonical" href="', 1)
    return re.sub(r'(name="DESCRIPTION" content=")[^"]*', lambda m: m.group(1) + f"Story {rng.randint(0, 999)}", html)


NOISE: dict[str, Noise] = {
    "viewstate": viewstate, "cache-busters": cache_busters, "inline-scripts": inline_scripts,
    "csp-nonce": csp_nonce, "dnn-module-ids": dnn_module_ids, "related-stories": related_stories,
    "footer-date": footer_date, "attribute-order": attribute_order, "indentation": indentation,
    "line-wrapping": line_wrapping, "entities-to-utf8": entities_to_utf8, "utf8-to-entities": utf8_to_entities,
    "minified": minified, "pretty": pretty, "crlf": crlf, "comments": comments, "head-metadata": head_metadata,
}
# Applied together in this order (markup rewrites last, so they see the final tokens).
COMBINED = ("viewstate", "cache-busters", "inline-scripts", "csp-nonce", "dnn-module-ids", "related-stories",
            "footer-date", "head-metadata", "comments", "utf8-to-entities", "attribute-order", "line-wrapping",
            "pretty", "indentation", "crlf")


def all_noise(html: str, rng: random.Random, kinds: tuple[str, ...] = COMBINED) -> str:
    """Return `html` with every noise kind in `kinds` applied."""
    for kind in kinds:
        html = NOISE[kind](html, rng)
    return html


def _replace_once(html: str, old: str, new: str) -> str:
    assert html.count(old) >= 1, f"fixture does not contain {old!r}"
    return html.replace(old, new, 1)


def _paragraph(html: str, start: str) -> str:
    match = re.search(rf"<p>{re.escape(start)}.*?</p>\n?", html, re.S)
    assert match, f"no paragraph starting {start!r}"
    return match.group(0)


# --- the case corpus -----------------------------------------------------------------------------------------

def cases() -> list[dict[str, Any]]:
    """Return every case: name, page, description, after (HTML), expected outcome and marks."""
    out: list[dict[str, Any]] = []
    for page in PAGES:
        base = page_html(page).decode("utf-8")
        for kind, noise in NOISE.items():
            out.append({"name": f"noise-{kind}", "page": page, "kind": "noise", "description": noise.__doc__,
                        "after": noise(base, random.Random(f"{page}:{kind}")), "outcome": "unchanged"})
        out.append({"name": "noise-all-combined", "page": page, "kind": "noise",
                    "description": "Every noise kind at once: " + ", ".join(COMBINED) + ".",
                    "after": all_noise(base, random.Random(f"{page}:all")), "outcome": "unchanged"})
        out.append({"name": "noise-minified-combined", "page": page, "kind": "noise",
                    "description": "Minified markup with new tokens, module ids, related stories and CRLF.",
                    "after": all_noise(base, random.Random(f"{page}:min"),
                                       ("viewstate", "csp-nonce", "dnn-module-ids", "related-stories",
                                        "entities-to-utf8", "minified", "crlf")),
                    "outcome": "unchanged"})
    out += _edits()
    return out


def _edit(page: str, name: str, description: str, after: str, marked: list[list[Any]],
          meta: dict[str, Any] | None = None) -> dict[str, Any]:
    case = {"name": name, "page": page, "kind": "edit", "description": description, "after": after,
            "outcome": "changed", "marked": marked}
    if meta:
        case["meta"] = meta
    return case


def _edits() -> list[dict[str, Any]]:
    nato_page, mattis_page = PAGES
    nato, mattis = (page_html(p).decode("utf-8") for p in PAGES)
    added = "<p>NATO said it would review the decision at its next meeting in February.</p>\n"
    removed = _paragraph(nato, "A U.S. airstrike killed")
    out = [
        _edit(nato_page, "edit-reword-sentence", "One word of a sentence reworded.",
              _replace_once(nato, "Stoltenberg told the media", "Stoltenberg informed the media"),
              [[-1, "told"], [1, "informed"]]),
        _edit(nato_page, "edit-reword-number", "A date in a sentence corrected.",
              _replace_once(nato, "Baghdad International Airport Jan. 2.", "Baghdad International Airport Jan. 3."),
              [[-1, "2"], [1, "3"]]),
        _edit(nato_page, "edit-add-paragraph", "A new paragraph between two others.",
              _replace_once(nato, removed, removed + added),
              [[1, "NATO said it would review the decision at its next meeting in February."]]),
        _edit(nato_page, "edit-remove-paragraph", "A paragraph removed.",
              _replace_once(nato, removed, ""),
              [[-1, "A U.S. airstrike killed Soleimani at Baghdad International Airport Jan. 2."]]),
        _edit(nato_page, "edit-photo-caption", "A photo caption reworded.",
              _replace_once(nato, "tells reporters that the alliance will suspend training",
                            "tells reporters that the alliance has suspended training"),
              [[-1, "will suspend"], [1, "has suspended"]]),
        _edit(nato_page, "edit-title", "The headline changed (page title and h1).",
              nato.replace("NATO Temporarily Suspends Training Mission in Iraq",
                           "NATO Suspends Training Mission in Iraq Indefinitely"),
              [[-1, "Temporarily"], [1, "Indefinitely"]],
              {"title": ["NATO Temporarily Suspends Training Mission in Iraq",
                         "NATO Suspends Training Mission in Iraq Indefinitely"]}),
        _edit(nato_page, "edit-quote-style", "Typewriter quotes ('') replaced by curly quotes in one paragraph.",
              _replace_once(nato, "''In everything that we do, the safety of our personnel is paramount,''",
                            "“In everything that we do, the safety of our personnel is paramount,”"),
              [[-1, "''"], [1, "“"], [-1, "''"], [1, "”"]]),
        _edit(nato_page, "edit-link-added", "A word in the article became a link; the text is the same.",
              _replace_once(nato, "take part in the Global Coalition to Defeat ISIS",
                            'take part in the <a href="https://www.inherentresolve.mil/">Global Coalition</a> '
                            'to Defeat ISIS'),
              [], {"links_added": ["https://www.inherentresolve.mil/"]}),
        _edit(nato_page, "edit-reword-with-noise", "A reworded sentence inside a page with every kind of noise.",
              all_noise(_replace_once(nato, "Jens Stoltenberg said in Brussels", "Jens Stoltenberg stated in Brussels"),
                        random.Random("edit+noise")),
              [[-1, "said"], [1, "stated"]]),
    ]
    last = _paragraph(mattis, "Groups like ISIS cannot")
    out += [
        _edit(mattis_page, "edit-reword-sentence", "A sentence reworded in a transcript.",
              _replace_once(mattis, "Our military campaign in Syria continues.",
                            "Our military campaign in Syria goes on."),
              [[-1, "continues"], [1, "goes on"]]),
        _edit(mattis_page, "edit-add-paragraph", "A paragraph added to a transcript.",
              _replace_once(mattis, last, last + "<p>(APPLAUSE)</p>\n"), [[1, "(APPLAUSE)"]]),
        _edit(mattis_page, "edit-remove-paragraph", "A paragraph removed from a transcript.",
              _replace_once(mattis, last, ""),
              [[-1, "Groups like ISIS cannot be allowed to exist. Today's meeting provides an opportunity to "
                    "recommit ourselves to this mission."]]),
        _edit(mattis_page, "edit-quote-style", "Curly quotes replaced by typewriter quotes.",
              _replace_once(mattis, "“ISIS 2.0”", "''ISIS 2.0''"),
              [[-1, "“"], [1, "''"], [-1, "”"], [1, "''"]]),
        _edit(mattis_page, "edit-title", "The transcript's headline changed.",
              mattis.replace("to the Defeat ISIS Coalition, Brussels, Belgium",
                             "to the Defeat ISIS Coalition, Brussels"),
              [[-1, ", Belgium"]],
              {"title": ["Remarks by Secretary Mattis and Secretary-General Stoltenberg to the Defeat ISIS Coalition, "
                         "Brussels, Belgium",
                         "Remarks by Secretary Mattis and Secretary-General Stoltenberg to the Defeat ISIS Coalition, "
                         "Brussels"]}),
        _edit(mattis_page, "edit-reword-with-noise", "A reworded sentence with minified markup and new tokens.",
              all_noise(_replace_once(mattis, "In March, I saw for myself", "In April, I saw for myself"),
                        random.Random("mattis edit+noise"), ("viewstate", "csp-nonce", "minified", "crlf")),
              [[-1, "March"], [1, "April"]]),
    ]
    return out


def write_corpus(folder: Path = CASES_DIR) -> int:
    """Rewrite `folder` with one sub-folder per case (after.html + case.yaml); return the number of cases."""
    if folder.exists():
        shutil.rmtree(folder)
    count = 0
    for case in cases():
        where = folder / case["page"] / case["name"]
        where.mkdir(parents=True)
        (where / "after.html").write_bytes(case["after"].encode("utf-8"))
        doc = {k: v for k, v in case.items() if k not in ("after", "name")}
        doc["before"] = f"monitor/demo/pages/{case['page']}.html"
        (where / "case.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=110),
                                         encoding="utf-8")
        count += 1
    return count


def sweep(rounds: int, seed: int = 0) -> dict[str, int]:
    """Compare `rounds` random noise variants of each page (random subsets and orders of every noise kind)
    with the page through the comparison stages (extract, diff, diff_meta); return the counts."""
    from monitor.diff import diff, diff_meta
    from monitor.extract import extract
    from monitor.models import Snapshot

    rng = random.Random(seed)
    counts = {"variants": 0, "false_alarms": 0}
    for page in PAGES:
        base_html = page_html(page).decode("utf-8")
        base = extract(base_html, "defense.gov")
        old = Snapshot(id="x", target=page, taken_at=None, sha256="", source="live",  # type: ignore[arg-type]
                       title=base.title, links=base.links, status=200, final_url="http://x/")
        for _ in range(rounds):
            kinds = tuple(rng.sample(sorted(NOISE), rng.randint(1, len(NOISE))))
            got = extract(all_noise(base_html, rng, kinds), "defense.gov")
            counts["variants"] += 1
            if diff(base.text, got.text) or diff_meta(old, title=got.title, final_url="http://x/", links=got.links,
                                                     status=200):
                counts["false_alarms"] += 1
                print(f"false alarm on {page} with {kinds}")
    return counts


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--sweep":
        print(sweep(int(sys.argv[2])))
    else:
        print(f"wrote {write_corpus()} cases to {CASES_DIR}")

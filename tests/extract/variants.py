"""A markup-variant corpus of the two seed articles: each region in several markups, combined at will.

Built from ../shared/REAL-MARKUP.md (the DMA 2024-25 skin as documented), the USWDS banner 1.x/2.x/3.x,
the markup of our fixture pages, several plausible shapes for the regions whose real markup is unknown
(notice, photo blocks, related heading) and the 2020 dgov2 skin (no banner, no notice). Each variant says
the text blocks it must normalize to, so `page(...)` returns the page and its exact expected text.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED_FILES = {"nato-training-suspended": "000_4c4e1697ccf35c4f.txt", "mattis-stoltenberg-remarks":
              "002_76aa4a595b3534b1.txt"}
GOV = "An official website of the United States Government\u00a0"
HOW = "Here's how you know"
DOT_GOV = ".gov website belongs to an official government organization in the United States."
LOCK_TAIL = "or https:// means you’ve safely connected to the .gov website. Share sensitive information only on " \
            "official, secure websites."
NOTICE_TAIL = ("Some of the information contained within may be outdated and links may not function. Please "
               "contact the DOD Webmaster with any questions.")


@dataclass(frozen=True)
class Article:
    """A seed text cut into its regions."""

    name: str
    banner: tuple[str, ...]
    title: str
    notice: str
    notice_first: bool
    body: tuple[str, ...]
    related: bool


def seed_text(name: str) -> str:
    """The seed text of `name` (tests/fixtures/seeds holds a copy of ../shared/seeds)."""
    return (ROOT / "tests" / "fixtures" / "seeds" / SEED_FILES[name]).read_text(encoding="utf-8")


def article(name: str) -> Article:
    blocks = seed_text(name).split("\n\n")
    banner, rest = tuple(blocks[:5]), blocks[5:]
    notice_first = rest[0].startswith("You have accessed")
    notice, title = (rest[0], rest[1]) if notice_first else (rest[1], rest[0])
    related = rest[-1] == "Related Stories"
    body = tuple(rest[2:-1] if related else rest[2:])
    return Article(name, banner, title, notice, notice_first, body, related)


def esc(text: str) -> str:
    return html_lib.escape(text, quote=False)


# --- banners: (html, expected blocks) ---------------------------------------------------------------------

def banner_dma(a: Article) -> tuple[str, list[str]]:
    """DMA's own markup (2024-25), as REAL-MARKUP.md documents it; the live page has the "A" the seed lost."""
    html = f"""<div class="header_banner_container"><div class="header_banner_inner">
<div class="header_banner_flag">{esc(GOV[:-1])}&nbsp;<div class="header_banner_accordion" tabindex="0">
<u>Here's how you know</u><i class="fa fa-chevron-down"></i></div></div>
<div class="header_banner_panel"><div class="header_banner_panel_item"><span class="header_banner_icon"></span>
<div class="header_banner_content"><p><strong>Official websites use .gov</strong></p>A&nbsp;<strong>.gov</strong>
 website belongs to an official government
 organization in the United States.</div></div>
<div class="header_banner_panel_item https"><span class="header_banner_icon"></span>
<div class="header_banner_content"><p><strong>Secure .gov websites use HTTPS</strong></p><div>A <strong>lock (<span
 class="header_banner_icon_lock"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 52 64"><title>lock</title>
<path d="M26 0c10 0 18 8 18 18v8h3c3 0 5 2 5 5v28c0 3-2 5-5 5H5c-3 0-5-2-5-5V31c0-3 2-5 5-5h3v-8C8 8 16 0 26 0z"/>
</svg></span>)</strong> or <strong>https://</strong> means you’ve safely connected to the .gov website. Share
 sensitive information only on official, secure websites.</div></div></div></div></div></div>"""
    return html, [a.banner[0], a.banner[1], "A\u00a0" + DOT_GOV, a.banner[3], a.banner[4]]


def banner_fixture(a: Article) -> tuple[str, list[str]]:
    """The USWDS markup of our fixture pages (separate paragraphs, a screen-reader 'lock')."""
    html = f"""<section class="usa-banner" aria-label="Official website of the United States government">
<div class="usa-accordion"><header class="usa-banner__header"><div class="usa-banner__inner">
<div class="grid-col-auto"><img aria-hidden="true" class="usa-banner__header-flag" src="/flag.png?ver=1" alt=""></div>
<div class="grid-col-fill tablet:grid-col-auto" aria-hidden="true">
<p class="usa-banner__header-text">{esc(GOV[:-1])}&nbsp;</p><p class="usa-banner__header-action">{HOW}</p></div>
<button type="button" class="usa-accordion__button usa-banner__button">
<span class="usa-banner__button-text">{HOW}</span></button></div></header>
<div class="usa-banner__content usa-accordion__content" id="gov-banner-default" hidden="">
<div class="grid-row grid-gap-lg"><div class="usa-banner__guidance tablet:grid-col-6">
<img class="usa-banner__icon usa-media-block__img" src="/icon-dot-gov.svg" role="img" alt="" aria-hidden="true">
<div class="usa-media-block__body"><p><strong>Official websites use .gov</strong></p>
<p><strong>.gov</strong> website belongs to an official government organization in the United States.</p></div></div>
<div class="usa-banner__guidance tablet:grid-col-6"><div class="usa-media-block__body">
<p><strong>Secure .gov websites use HTTPS</strong></p><p>A <strong>lock</strong> ( <span class="icon-lock"><span
 class="sr-only">lock</span></span> ) {LOCK_TAIL}</p></div></div></div></div></div></section>"""
    return html, list(a.banner)


def _uswds(header: str, title: str, quote: str) -> tuple[str, str]:
    lock = (f'<span class="icon-lock"><svg xmlns="http://www.w3.org/2000/svg" width="52" height="64" '
            f'class="usa-banner__lock-image" role="img" aria-labelledby="lock-desc" focusable="false">'
            f'<title id="lock-title">{title}</title><desc id="lock-desc">Locked padlock icon</desc>'
            f'<path fill="#000" d="M0 0h52v64H0z"/></svg></span>')
    guidance = f"""<div class="usa-banner__content usa-accordion__content" id="gov-banner-default" hidden>
<div class="grid-row grid-gap-lg"><div class="usa-banner__guidance tablet:grid-col-6">
<img class="usa-banner__icon usa-media-block__img" src="/img/icon-dot-gov.svg" role="img" alt="" aria-hidden="true">
<div class="usa-media-block__body"><p><strong>Official websites use .gov</strong><br/>
A <strong>.gov</strong> website belongs to an official government organization in the United States.</p></div></div>
<div class="usa-banner__guidance tablet:grid-col-6">
<img class="usa-banner__icon usa-media-block__img" src="/img/icon-https.svg" role="img" alt="" aria-hidden="true">
<div class="usa-media-block__body"><p><strong>Secure .gov websites use HTTPS</strong><br/>
A <strong>lock</strong> ({lock}) {LOCK_TAIL}</p></div></div></div></div>"""
    return f"""<section class="usa-banner" aria-label="Official website of the United States government">
<div class="usa-accordion"><header class="usa-banner__header"><div class="usa-banner__inner">
<div class="grid-col-auto"><img class="usa-banner__header-flag" src="/img/us_flag_small.png" alt=""></div>
<div class="grid-col-fill tablet:grid-col-auto" aria-hidden="true">{header}</div>
<button type="button" class="usa-accordion__button usa-banner__button" aria-expanded="false"
 aria-controls="gov-banner-default"><span class="usa-banner__button-text">Here{quote}s how you know</span></button>
</div></header>{guidance}</div></section>""", f"( {title} )"


def _banner_uswds_2_3(quote: str) -> tuple[str, list[str]]:
    header = ('<p class="usa-banner__header-text">An official website of the United States government</p>'
              f'<p class="usa-banner__header-action" aria-hidden="true">Here{quote}s how you know</p>')
    html, lock = _uswds(header, "Lock", quote)
    return html, [f"An official website of the United States government\nHere{quote}s how you know",
                  "Official websites use .gov\nA " + DOT_GOV,
                  f"Secure .gov websites use HTTPS\nA lock {lock} {LOCK_TAIL}"]


def banner_uswds2(a: Article) -> tuple[str, list[str]]:
    """USWDS 2.x: the guidance as one paragraph with a line break; the lock's <svg> titled 'Lock'."""
    return _banner_uswds_2_3("'")


def banner_uswds3(a: Article) -> tuple[str, list[str]]:
    """USWDS 3.x: as 2.x with a curly apostrophe."""
    return _banner_uswds_2_3("’")


def banner_uswds1(a: Article) -> tuple[str, list[str]]:
    """USWDS 1.x: single-dash classes, 'Here's how you know' only inside the button, older guidance words."""
    html = """<div class="usa-banner"><div class="usa-accordion"><header class="usa-banner-header">
<div class="usa-grid usa-banner-inner"><img src="/img/favicons/favicon-57.png" alt="U.S. flag">
<p>An official website of the United States government</p>
<button class="usa-accordion-button usa-banner-button" aria-expanded="false" aria-controls="gov-banner">
<span class="usa-banner-button-text">Here's how you know</span></button></div></header>
<div class="usa-banner-content usa-grid usa-accordion-content" id="gov-banner">
<div class="usa-banner-guidance-gov usa-width-one-half"><img class="usa-banner-icon usa-media_block-img"
 src="/img/icon-dot-gov.svg" alt="Dot gov"><div class="usa-media_block-body"><p><strong>The .gov means it’s
 official.</strong><br>Federal government websites often end in .gov or .mil.</p></div></div>
<div class="usa-banner-guidance-ssl usa-width-one-half"><img class="usa-banner-icon usa-media_block-img"
 src="/img/icon-https.svg" alt="SSL"><div class="usa-media_block-body"><p>This site is also protected by an SSL
 (Secure Sockets Layer) certificate that’s been signed by the U.S. government. The <strong>https://</strong> means
 all transmitted data is encrypted — in other words, any information or browsing history that you provide is
 transmitted securely.</p></div></div></div></div></div>"""
    return html, ["U.S. flag\nAn official website of the United States government",  # the flag's alt: compact line
                  "The .gov means it’s official.\nFederal government websites often end in .gov or .mil.",
                  "This site is also protected by an SSL (Secure Sockets Layer) certificate that’s been signed by "
                  "the U.S. government. The https:// means all transmitted data is encrypted — in other words, "
                  "any information or browsing history that you provide is transmitted securely."]


def banner_none(a: Article) -> tuple[str, list[str]]:
    """The 2020 dgov2 skin as the web archive shows it: no banner."""
    return "", []


BANNERS = [banner_dma, banner_fixture, banner_uswds2, banner_uswds3, banner_uswds1, banner_none]


# --- titles -------------------------------------------------------------------------------------------------

def title_real(a: Article) -> str:
    """The 2024-25 article header: section label, padded h1, date line with share links (not content)."""
    return f"""<header class="content-wrap"><div class="cont-type"><a href="/News/News-Stories/">News Story</a></div>
<h1 class="maintitle">
            {esc(a.title)}
        </h1>
<div class="date-line"><span class="date">
            Jan. 7, 2020
        </span><span class="social-block"> | <div class="a2a_kit a2a_kit_size_32"><a class="a2a_button_facebook"
 href="#">Facebook</a><a class="a2a_button_x" href="#">X</a><a class="a2a_button_email" href="#">Email</a></div>
</span></div></header>"""


def title_fixture(a: Article) -> str:
    return (f'<h1 class="maintitle">{esc(a.title)}</h1><div class="info"><span class="date">Jan. 7, 2020</span> | '
            '<span class="author">By Jim Garamone, DOD News</span></div>'
            '<div class="share-tools"><a href="#" title="Email">Email</a><a href="#">Copy Link</a></div>')


def title_release(a: Article) -> str:
    """A release's header: a presenter line before the title, extra classes and microdata on the h1."""
    return (f'<header class="content-wrap"><div class="cont-type"><a href="/News/Releases/">Release</a></div>'
            f'<div class="presenterinfoType">Immediate Release</div><h1 class="maintitle ntitle" itemprop="name">'
            f'{esc(a.title)}</h1><div class="date-line"><span class="date">Jan. 7, 2020</span></div></header>')


TITLES = [title_real, title_fixture, title_release]

# --- the historical-collection notice (markup unknown: plausible shapes) ------------------------------------

_SITE = '<a href="/" class="site-name"><span class="domain"></span></a>'


def notice_fixture(a: Article) -> str:
    return (f'<div class="article-notice historical">You have accessed part of a historical collection on {_SITE} '
            f'Some of the information contained within may be outdated and links may not function. Please contact '
            f'the <a href="/Contact/">DOD Webmaster</a> with any questions.</div>')


def notice_alert(a: Article) -> str:
    """Bootstrap's .alert-warning with an icon and a dismiss button."""
    return (f'<div class="alert alert-warning alert-dismissible" role="alert"><button type="button" class="close" '
            f'data-dismiss="alert" aria-label="Close"><span aria-hidden="true">&times;</span></button>'
            f'<span class="glyphicon glyphicon-warning-sign" aria-hidden="true"></span> You have accessed part of a '
            f'historical collection on {_SITE} '
            f'{NOTICE_TAIL.replace("DOD Webmaster", "<a href=/Contact/>DOD Webmaster</a>")}</div>')


def notice_disclaimer(a: Article) -> str:
    """The pre-2019 skin's plain div.disclaimer around a paragraph."""
    return (f'<div class="disclaimer"><div class="inner"><p>You have accessed part of a historical collection on '
            f'{_SITE}\n Some of the information contained within may be outdated and links may not function.\n '
            f'Please contact the DOD Webmaster with any questions.</p></div></div>')


def notice_split(a: Article) -> str:
    """The opening words split over inline elements, inside a DNN HTML module."""
    return (f'<div class="DnnModule DnnModule-DNN_HTML"><div class="DNNModuleContent ModDNNHTMLC"><p class="note">'
            f'<strong>You have accessed</strong> part of a <em>historical collection</em> on {_SITE} {NOTICE_TAIL}'
            f'</p></div></div>')


def notice_none(a: Article) -> str:
    return ""


NOTICES = [notice_fixture, notice_alert, notice_disclaimer, notice_split, notice_none]

# --- photo blocks inside the body (markup unknown: plausible shapes) ----------------------------------------


def _photo_lines(block: str) -> tuple[str, str, str, str, str]:
    alt, title, caption, by, virin = block.split("\n")
    return alt, title, caption, by, virin


def photo_figure(block: str) -> str:
    alt, title, caption, by, virin = map(esc, _photo_lines(block))
    return (f'<figure class="media-inline-img"><a href="/img/{virin[7:]}.JPG" class="colorbox">'
            f'<img src="/s/{virin[7:]}.JPG" alt="{alt}"></a><figcaption><div class="title">{title}</div>'
            f'<div class="caption">{caption}</div>'
            f'<div class="credit">{by}</div><div class="virin">{virin}</div></figcaption></figure>')


def photo_media_inline(block: str) -> str:
    """The stylesheet's hints: .media-inline, .mtitle, .caption, .photographer, .virin, a popup link."""
    alt, title, caption, by, virin = map(esc, _photo_lines(block))
    return (f'<div class="media-inline media-inline-right media-inline-medium"><div class="media-inline-img">'
            f'<a class="media-inline-popup" href="/img/{virin[7:]}.JPG" title="Open">'
            f'<img src="/m/{virin[7:]}.JPG?cdv=1913" alt="{alt}" title="{title}"></a></div>'
            f'<div class="mtitle">{title}</div><div class="caption">{caption}'
            f'</div><div class="photographer">{by}</div><div class="virin">{virin}</div></div>')


def photo_paragraphs(block: str) -> str:
    """A table-less card of paragraphs, the credit split over spans."""
    alt, title, caption, by, virin = map(esc, _photo_lines(block))
    name = by.removeprefix("Photo By: ")
    return (f'<div class="photo-block"><p class="img"><img src="/p/{virin[7:]}.jpg" alt="{alt}"></p>'
            f'<p class="mtitle"><strong>{title}</strong></p><p class="caption">{caption}</p>'
            f'<p class="photographer"><span class="label">Photo By:</span> <span>{name}</span></p>'
            f'<p class="virin"><span class="label">VIRIN:</span> {virin[7:]}</p></div>')


PHOTOS = [photo_figure, photo_media_inline, photo_paragraphs]

# --- related-stories heading --------------------------------------------------------------------------------


def related_fixture() -> str:
    return ('<div class="related"><h2>Related Stories</h2><div class="related-cards"><related-story article-id="1" '
            'article-title="Related article 1"></related-story></div></div>')


def related_rendered() -> str:
    """As a browser leaves it: the script has filled the cards in (their text is not the article's)."""
    return ('<div class="related"><h3 class="title">Related Stories</h3><div class="items"><div class="item">'
            '<a href="/News/1/"><span class="title">Austin Meets Allies</span><span class="date">Jan. 8, 2020'
            '</span></a></div><div class="item"><a href="/News/2/"><span class="title">Other news</span></a></div>'
            '</div></div>')


def related_div() -> str:
    return '<section class="related-stories"><div class="related-title">Related Stories</div><ul></ul></section>'


RELATEDS = [related_fixture, related_rendered, related_div]

# --- the page around the regions ----------------------------------------------------------------------------


def body_html(a: Article, photo: int, real_body: bool) -> str:
    parts = []
    for block in a.body:
        if "\nPhoto By: " in block:
            parts.append(PHOTOS[photo](block))
        else:
            parts.append("<p>" + "<br>".join(esc(line) for line in block.split("\n")) + "</p>")
    inner = "\n".join(parts)
    if real_body:
        return (f'<div class="content content-wrap"><div class="inside ntext"><div class="body">\n{inner}\n</div>'
                f'<script type="text/javascript">var articleId = 2051803; loadRelated(articleId);</script>'
                f'</div></div>')
    return f'<div class="body">\n{inner}\n</div>'


@dataclass(frozen=True)
class Variant:
    """One combination: which markup each region takes (indexes into the lists above)."""

    name: str = "nato-training-suspended"
    banner: int = 0
    title: int = 0
    notice: int = 0
    photo: int = 0
    related: int = 0
    real_body: bool = True
    notice_inside: bool = True  # inside the article wrapper, else its own module above it

    def label(self) -> str:
        return (f"{self.name[:5]}-{BANNERS[self.banner].__name__}-{TITLES[self.title].__name__}-"
                f"{NOTICES[self.notice].__name__}-{PHOTOS[self.photo].__name__}-{RELATEDS[self.related].__name__}-"
                f"{'real' if self.real_body else 'plain'}-{'in' if self.notice_inside else 'out'}")


def page(v: Variant) -> tuple[str, str]:
    """Return the page of a variant and the text it must normalize to."""
    a = article(v.name)
    banner, banner_blocks = BANNERS[v.banner](a)
    notice = NOTICES[v.notice](a)
    title = TITLES[v.title](a)
    head = [notice, title] if a.notice_first else [title, notice]
    inside = "\n".join(head) if v.notice_inside else title
    outside = notice if not v.notice_inside else ""
    related = RELATEDS[v.related]() if a.related else ""
    if v.banner == 0:  # the DMA skin: the banner sits inside the site header, before its menus
        header = (f'<div id="skip-link-holder"><a id="skip-link" href="#skip-target">Skip to main content (Press '
                  f'Enter).</a></div><header id="header-main" class="top hover new-nav">{banner}<div class="social">'
                  f'<a href="https://x.com/DeptofWar">X</a></div><a class="logo" href="/"><img src="/logo.png?cdv=1913"'
                  f' alt="U.S. Department of War"></a><nav class="main"><ul><li><a href="/News/">News</a></li>'
                  f'<li><a href="/News/Releases/">Related Stories archive</a></li></ul></nav></header>')
    else:
        header = (f'{banner}<header class="top" id="header-main"><a class="logo" href="/"><img src="/logo.png" '
                  f'alt="Logo"></a><nav class="main"><ul><li><a href="/News/">News</a></li></ul></nav></header>')
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{esc(a.title)} &gt; U.S. Department of War &gt; News Story | U.S. Department of War</title>
<link rel="stylesheet" href="/skin.css?cdv=1913"></head><body><form method="post" action="/" id="Form">
<input type="hidden" name="__VIEWSTATE" value="abc123"/>{header}
<main id="skip-target">{outside}
<div class="DnnModule DnnModule-ArticleCSViewArticle DnnModule-2638"><a name="2638"></a><div class="DNNModuleContent">
<div class="article-view" id="dnn_ctr2638_ViewArticle_UpdatePanel1"><div class="adetail abanner aframe content-type-1"
 itemscope itemtype="http://schema.org/NewsArticle">
{inside}
{body_html(a, v.photo, v.real_body)}
{related}
</div></div></div></div>
<div class="DnnModule DnnModule-DNN_HTML DnnModule-3000"><div class="subscribe"><article><h3>Subscribe to War.gov
 Products</h3><a class="button" href="/Subscribe/">Subscribe</a></article></div></div></main>
<footer id="footer-main"><p>Page generated Dec. 1, 2026</p></footer></form>
<script src="/skin.js?cdv=1913"></script></body></html>"""
    notice_blocks = [a.notice] if notice else []
    # the notice module outside the article comes before it in the page
    first = a.notice_first or not v.notice_inside
    ordered = [*notice_blocks, a.title] if first else [a.title, *notice_blocks]
    blocks = banner_blocks + ordered + list(a.body) + (["Related Stories"] if a.related else [])
    return html, "\n\n".join(blocks)


def every_region_variant() -> list[Variant]:
    """Each markup of each region at least once, with the others at their first markup, for both articles."""
    out = []
    for name in SEED_FILES:
        for field, count in (("banner", len(BANNERS)), ("title", len(TITLES)), ("notice", len(NOTICES)),
                             ("photo", len(PHOTOS)), ("related", len(RELATEDS))):
            out += [Variant(name=name, **{field: i}) for i in range(count)]
        out += [Variant(name=name, real_body=False), Variant(name=name, notice_inside=False),
                Variant(name=name, banner=BANNERS.index(banner_none), notice=NOTICES.index(notice_none))]
    return out

"""HTML for pages that show untrusted text (student code, outputs, names): escaped, inert and offline.

Every page is static: no script, no form, nothing loaded from elsewhere. The Content-Security-Policy
repeats that for the browser, so a mistake in escaping still cannot run code or fetch a URL.
"""
from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt

# base-uri and form-action do not fall back to default-src, so they are named too.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
body{font-family:system-ui,sans-serif;line-height:1.45;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#1a1a1a}
table{border-collapse:collapse;width:100%}
td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word;font-size:.85rem}
pre.stderr,pre.error{background:#fff0f0}.lost{color:#a40000}.note{color:#666;font-style:italic}
.cell{margin:1rem 0;border-left:3px solid #ddd;padding-left:.6rem}.cell.test{border-color:#3b6ea8}
.cell.student{border-color:#2e7d32}.label{font-size:.8rem;color:#555;margin:0}
.banner{background:#fff3cd;border:1px solid #c9a400;padding:.5rem}img{max-width:100%}
table.scored{table-layout:fixed}.scored .item{width:15rem}.scored .points{width:7.5rem}
.scored td,.scored th{overflow-wrap:anywhere}
@media (max-width:32rem){.scored .item{width:27%}.scored .points{width:4.5rem}
.scored td,.scored th{padding:.3rem .4rem}}
""".strip()

TEXT_LIMIT = 20_000  # characters of one source or output; enough for any traceback worth reading
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/=]+")


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def page(title: str, body: str) -> str:
    """A complete, self-contained page; `body` must already be safe HTML."""
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
            "<meta name='referrer' content='no-referrer'>"
            "<link rel='icon' href='data:,'>"  # no request for /favicon.ico (a 404 on any web server)
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def plain_text(text: str) -> str:
    """Terminal text as a reader would see it: no colour codes, carriage returns resolved, no control bytes."""
    text = _ANSI.sub("", text).replace("\r\n", "\n")
    # A progress bar's \r overwrites the line so far (split, not a regex: linear on a 10 MB line).
    text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))
    return _CONTROL.sub("", text)


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """Head and tail of a long text (a traceback's end holds the error), with what was left out."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit * 2 // 3], text[-(limit // 3):]
    return f"{head}\n\n[... {len(text) - len(head) - len(tail):,} characters not shown ...]\n\n{tail}"


def pre(text: str, css_class: str = "") -> str:
    cls = f" class='{escape(css_class)}'" if css_class else ""
    return f"<pre{cls}>{escape(clip(plain_text(text)))}</pre>"


def note(text: str) -> str:
    return f"<p class='note'>{escape(text)}</p>"


def counted(n: int, noun: str) -> str:
    """``1 pair``, ``2 pairs``: a page says what it counted, never "pair(s)"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def data_image(mime: str, base64_data: str) -> str | None:
    """An <img> for a PNG/JPEG/GIF given as base64, or None if the data is not plain base64."""
    uri = f"data:{mime};base64,{''.join(base64_data.split())}"
    return f"<img alt='output image' src='{escape(uri)}'>" if _DATA_IMAGE.fullmatch(uri) else None


# Links are inert (the pages work offline and must not send readers elsewhere): the address is shown as text.
def _link_open(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    href = "" if token.markup == "autolink" else str(token.attrs.get("href", ""))  # an autolink shows it already
    env.setdefault("links", []).append(href)
    return "<span class='link'>"


def _link_close(self, tokens, idx, options, env) -> str:
    href = env["links"].pop()
    return f"</span> ({escape(href)})" if href else "</span>"


def _image(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = escape(self.renderInlineAsText(token.children or [], options, env))
    src = str(token.attrs.get("src", ""))
    if _DATA_IMAGE.fullmatch(src):
        return f"<img alt='{alt}' src='{escape(src)}'>"
    return f"<span class='note'>[image: {alt}]</span>"


def _markdown_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")  # raw HTML is shown as text
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


_MARKDOWN = _markdown_parser()


def markdown(text: str) -> str:
    """Markdown as HTML with raw HTML escaped, links inert and only inline data images."""
    return _MARKDOWN.render(clip(_CONTROL.sub("", text)))

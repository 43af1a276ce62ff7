"""Every page the grader writes is inert: known tags only, no script, no handler, no remote resource.

Shared by the feedback, manual and report tests.
"""
from html.parser import HTMLParser


class Markup(HTMLParser):
    """Every tag and attribute the browser would see."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.attrs = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, name, value or "") for name, value in attrs)


def assert_inert(text: str) -> None:
    markup = Markup(text)
    assert set(markup.tags) <= {"html", "head", "meta", "title", "style", "link", "body", "h1", "h2", "p", "a", "table",
                                "tr", "th", "td", "code", "pre", "div", "span", "img", "em", "strong", "ul",
                                "ol", "li", "h3", "h4", "blockquote", "br", "hr", "thead", "tbody", "wbr"}, markup.tags
    assert markup.tags.count("style") == markup.tags.count("html"), "only the page's own stylesheet"
    assert markup.tags.count("link") == markup.tags.count("html"), "only the page's own (empty) icon link"
    for tag, name, value in markup.attrs:
        if tag == "link":  # the empty icon that spares a request for /favicon.ico, nothing else
            assert (name, value) in {("rel", "icon"), ("href", "data:,")}, (tag, name, value)
            continue
        assert not name.startswith("on"), (tag, name, value)
        if name == "src":
            assert value.startswith("data:image/"), value
        if name == "href":
            assert "://" not in value and not value.startswith(("//", "javascript:", "data:")), value

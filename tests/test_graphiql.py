"""The GraphiQL page loads everything from the vendored files: no CDN, no other host."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from ordergate.graphiql import ASSETS_DIR, SCRIPTS, STYLESHEETS, graphiql_html

PREFIX = "/graphiql-assets"


class _References(HTMLParser):
    """Every src= and href= in the page, plus the bodies of inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value is not None:
                self.urls.append(value)
        self._in_script = tag == "script" and not any(name == "src" for name, _ in attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts.append(data)


def references(page: str) -> _References:
    parser = _References()
    parser.feed(page)
    parser.close()
    return parser


def test_page_references_only_local_assets() -> None:
    page = graphiql_html("/graphql", PREFIX)
    urls = references(page).urls
    assert urls, "the page should load its scripts and styles"
    for url in urls:
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", url, re.IGNORECASE), f"{url} names a scheme/host"
        assert not url.startswith("//"), f"{url} is protocol-relative: another host"
        assert url.startswith(f"{PREFIX}/"), f"{url} is not under the assets prefix"
    # Nothing anywhere in the markup or the inline script points at another host.
    assert re.search(r"https?://", page) is None
    assert not re.search(r"unpkg|jsdelivr|cdnjs|esm\.sh", page, re.IGNORECASE)


def test_every_referenced_asset_is_shipped() -> None:
    page = graphiql_html("/graphql", PREFIX + "/")  # a trailing slash on the prefix is tolerated
    urls = references(page).urls
    names = [url.removeprefix(f"{PREFIX}/") for url in urls]
    assert sorted(names) == sorted([*SCRIPTS, *STYLESHEETS])
    for name in names:
        path = ASSETS_DIR / name
        assert path.is_file(), f"{name} is missing from {ASSETS_DIR}"
        assert path.stat().st_size > 1000, f"{name} looks truncated"
        assert (ASSETS_DIR / name).resolve().parent == ASSETS_DIR.resolve()


def test_vendored_files_carry_their_licenses() -> None:
    for package in ("react", "react-dom", "graphiql", "graphql-ws"):
        assert (ASSETS_DIR / f"LICENSE.{package}.txt").is_file(), package
    assert (ASSETS_DIR / "README.md").is_file()


def test_page_embeds_the_endpoint() -> None:
    page = graphiql_html("/api/v2/graphql", PREFIX)
    script = "".join(references(page).inline_scripts)
    assert f"var ENDPOINT = {json.dumps('/api/v2/graphql')};" in script
    # Subscriptions go to the same path over ws:// or wss://, chosen from the page's own location.
    assert "graphqlWs.createClient" in script
    assert "window.location.protocol" in script


def test_endpoint_cannot_break_out_of_the_script() -> None:
    hostile = '/graphql"</script><script>alert(1)</script>'
    page = graphiql_html(hostile, PREFIX)
    assert "</script><script>alert(1)" not in page
    assert page.count("</script>") == len(SCRIPTS) + 1


def test_token_hint_is_a_comment_not_a_header() -> None:
    page = graphiql_html("/graphql", PREFIX)
    assert "ordergate token --role admin" in page
    assert "defaultHeaders" not in page

"""
The documentation site (docs/): it builds with warnings as errors and every
cross-reference resolved (nitpicky), its code examples run (the doctest
builder), the API reference covers every public name, the generated
close-code table shows ``send_as``, and every built page, opened in headless
Chromium from a local HTTP server on 127.0.0.1, logs no console error, has no
broken internal link and no image that fails to render.

Chromium is Debian's package (``.ci/setup`` installs it); it is driven over
the DevTools protocol with the ``websockets`` client (tests/cdp.py).
"""

from __future__ import annotations

import functools
import http.server
import importlib
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from tests.cdp import CHROMIUM, chromium

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

#: Every public module and where its names are documented (the API page).
PUBLIC_MODULES = ("wsspec", "wsspec.connection", "wsspec.events", "wsspec.extensions", "wsspec.frame_protocol",
                  "wsspec.handshake", "wsspec.utilities", "wsspec.typing")


def sphinx(builder: str, out: Path) -> subprocess.CompletedProcess:
    """The README's build command, with ``builder``, into ``out``."""
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", builder, str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The HTML site, built once for this module."""
    out = tmp_path_factory.mktemp("docs") / "html"
    result = sphinx("html", out)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "ERROR" not in result.stderr, result.stderr
    return out


def test_build_has_every_page(site: Path) -> None:
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    for page in ("index.html", "api.html", "protocol.html", "differences.html", "performance.html",
                 "conformance.html", "faq.html", "guide/install.html", "guide/sans-io.html", "guide/sockets.html", "guide/asyncio.html",
                 "guide/trio.html", "guide/handshake.html", "guide/messages.html", "guide/limits.html",
                 "guide/wsproto.html", "protocol/connection.html", "protocol/handshake.html",
                 "protocol/framing.html", "protocol/close_codes.html", "protocol/permessage_deflate.html"):
        assert page in pages, page


def test_code_examples_run(tmp_path: Path) -> None:
    """Every ``testcode`` block of the guide runs and prints its ``testoutput``."""
    result = sphinx("doctest", tmp_path / "doctest")
    assert result.returncode == 0, result.stdout + result.stderr
    report = (tmp_path / "doctest" / "output.txt").read_text(encoding="utf-8")
    match = re.search(r"Doctest summary\s*=+\s*(\d+) tests?\b", report)
    assert match and int(match.group(1)) >= 10, report  # the guide has 11 testcode blocks
    assert "0 failures in tests" in report, report


def test_api_reference_covers_every_public_name(site: Path) -> None:
    html = (site / "api.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    documented = {}  # object id -> where it is documented, for re-exported names
    missing = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")
                                                       and n != "annotations"]
        for attr in public:
            if f"{name}.{attr}" in ids:
                documented.setdefault(id(getattr(module, attr)), f"{name}.{attr}")
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")
                                                       and n != "annotations"]
        for attr in public:
            obj = getattr(module, attr)
            if f"{name}.{attr}" not in ids and not (isinstance(obj, type) and id(obj) in documented):
                missing.append(f"{name}.{attr}")
    assert not missing, f"not in the API reference: {missing}"


def test_close_code_table_shows_send_as_when_the_spec_has_it() -> None:
    """The generated close-code page shows a code's ``send_as`` where the spec has one, else a dash."""
    from codegen.model import Entry, load_spec
    from codegen.render import render_sources

    spec = load_spec(ROOT / "spec")
    with_send_as = render_sources(spec)["docs/protocol/close_codes.rst"]
    spec.close_codes.entries = [
        Entry(c.name, c.value, c.doc, c.rfc, {**c.extra, "send_as": None}) for c in spec.close_codes.entries
    ]
    plain = render_sources(spec)["docs/protocol/close_codes.rst"]

    def row(text: str, code: int) -> list[str]:
        lines = text.splitlines()
        start = lines.index(f"   * - {code}")
        return lines[start:start + 7]

    assert row(plain, 1006)[5] == "     - —"
    assert row(with_send_as, 1006)[5] == "     - 1000"
    assert row(with_send_as, 1015)[5] == "     - 1000"
    assert row(with_send_as, 1005)[5] == "     - a Close frame without a code"
    assert row(with_send_as, 1000)[5] == "     - —"
    assert row(plain, 1000)[6].startswith("     - `RFC 6455 §7.4.1 <https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1>`__")


# --- every page in headless Chromium ------------------------------------------------------------

#: Run in each page once it has loaded: its links and its images (after they settle).
PAGE_PROBE = """
(async () => {
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(resolve => { img.addEventListener('load', resolve); img.addEventListener('error', resolve); })));
  return JSON.stringify({
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    images: Array.from(document.images).map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth,
                                                      complete: img.complete})),
    title: document.title,
  });
})()
"""


def _errors(events: list[dict], session: str) -> list[str]:
    """Console errors, uncaught exceptions and failed loads among ``events``."""
    found = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append("exception: " + details.get("exception", {}).get("description", details.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
    return found


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


def _ids(page: Path, cache: dict) -> set[str]:
    if page not in cache:
        html = page.read_text(encoding="utf-8", errors="replace")
        cache[page] = set(re.findall(r'\b(?:id|name)="([^"]+)"', html))
    return cache[page]


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="Chromium is not installed "
                    "(`apt-get install chromium`; .ci/setup does)")
def test_every_page_renders_in_chromium(site: Path) -> None:
    assert CHROMIUM, "Chromium is not installed; .ci/setup installs Debian's `chromium`"
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if not p.relative_to(site).as_posix().startswith("_"))
    assert len(pages) >= 21, pages

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    server_thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    problems: list[str] = []
    report: list[str] = []
    try:
        with chromium() as devtools:
            session = devtools.open_page()
            id_cache: dict = {}
            for page in pages:
                devtools.events.clear()
                url = f"{origin}/{page}"
                navigated = devtools.call("Page.navigate", session, url=url)
                assert "errorText" not in navigated, (page, navigated)
                devtools.wait_for("Page.loadEventFired", session)
                probe = devtools.call("Runtime.evaluate", session, expression=PAGE_PROBE, awaitPromise=True,
                                      returnByValue=True)
                assert "exceptionDetails" not in probe, (page, probe)
                found = json.loads(probe["result"]["value"])
                devtools.drain(0.15)  # late console messages
                errors = _errors(devtools.events, session)
                problems += [f"{page}: {error}" for error in errors]

                internal = 0
                for href in found["links"]:
                    if not href.startswith(origin + "/"):
                        continue  # another site (the RFCs, GitHub): not fetched here
                    internal += 1
                    address, fragment = urldefrag(href)
                    target_path = site / unquote(urlsplit(address).path).lstrip("/")
                    if target_path.is_dir():
                        target_path = target_path / "index.html"
                    if not target_path.is_file():
                        problems.append(f"{page}: link to a missing page: {href}")
                    elif fragment and target_path.suffix == ".html" and unquote(fragment) not in _ids(target_path, id_cache):
                        problems.append(f"{page}: link to a missing anchor: {href}")
                for image in found["images"]:
                    if not image["complete"] or image["width"] == 0:
                        problems.append(f"{page}: image does not render: {image['src']}")
                report.append(f"{page}: {len(found['links'])} links ({internal} internal), "
                              f"{len(found['images'])} images, {len(errors)} console errors")
    finally:
        server.shutdown()
        server.server_close()
        server_thread.join(10)
    print("\n".join(report))
    assert not problems, "\n".join(problems)
    # The diagrams are on the protocol pages, and they rendered (checked above).
    assert any(line.startswith("protocol/connection.html") and " 1 images" in line for line in report), report

"""Fixtures for the monitoring page in a real headless Chromium.

One browser per test module (starting Chromium costs about a second), one fresh
context (cookies, sessionStorage) per test; a liuray server over two in-process node
managers per module (:func:`server`), and :func:`start_server` for tests that need
their own (a token, CORS origins). What is needed (Chromium, Playwright) and why the
tests skip without it: :mod:`web_helpers`.

A conftest cannot skip, so this one imports the extras only inside its fixtures and
loads whether they are installed or not (``make test-core`` has none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

from liuray.managers.island import IslandManager
from liuray.transports.inproc import InProcessTransport

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page
    from web_helpers import LivePage


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright
    from web_helpers import CHROMIUM_ARGS, chromium_or_skip

    path = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LivePage]]:
    """Start liuray servers (two in-process node managers each) for the module:
    ``start_server(token=..., cors_origins=[...])``."""
    from web_helpers import LivePage

    from liuray.api import create_app
    from live_server import serve

    with ExitStack() as stack:

        def start(**options: Any) -> LivePage:
            root = tmp_path_factory.mktemp("server")
            island = IslandManager(InProcessTransport(root, nodes=2, workers=4))
            stack.callback(island.close)
            url = stack.enter_context(serve(create_app(island, **options)))
            live = LivePage(url, island, options.get("token"))
            stack.callback(live.http.close)
            return live

        yield start


@pytest.fixture(scope="module")
def server(start_server: Callable[..., LivePage]) -> LivePage:
    """The module's liuray server (no token, CORS open)."""
    return start_server()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own context); fails the test if a script on it threw."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
    assert not errors, f"scripts on the page threw: {errors}"

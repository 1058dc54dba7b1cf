"""The server's fixtures, on the tiny champion (tests.support.serving): a store where it is registered,
a gunicorn server shared by a worker's test files (`server`), a watched Chromium page
(`browser_page`), the service in process shared by a test module (`app`), and a prediction log's
location on each database (`location`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import watched
from tests.support.serving import App, Server, ready_server, start_app, tiny_champion_store


@pytest.fixture(scope="session")
def champion_store(tmp_path_factory: pytest.TempPathFactory, migrated_store: Path) -> str:
    return tiny_champion_store(tmp_path_factory.mktemp("champion-store"), migrated_store)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, champion_store: str) -> Iterator[Server]:
    """A gunicorn server shared by the test files of a worker, ready to predict (its boot costs seconds)."""
    running = ready_server(tmp_path_factory.mktemp("server"), champion_store)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, champion_store: str) -> Iterator[App]:
    """The in-process service shared by a test module, serving the tiny champion."""
    with start_app(tmp_path_factory.mktemp("app"), champion_store) as started:
        yield started


@pytest.fixture
def browser_page(browser):
    """A page of the shared Chromium, downloads accepted, its errors collected (tests.support.browser.watched)."""
    return watched(browser.new_page(accept_downloads=True))


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's log lives: an SQLite file, or a fresh database on the session's PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "predictions.db")
    postgres = request.getfixturevalue("postgres")
    name = f"log_{time.monotonic_ns()}"
    postgres.create_database(name)
    return postgres.url(name)

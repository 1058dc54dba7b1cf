"""The server's fixtures, on the tiny champion (tests.support.serving): a store where it is registered,
a gunicorn server shared by a worker's test files (`server`) and the service in process shared by a
test module (`app`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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

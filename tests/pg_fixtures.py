"""Fixtures for the PostgreSQL tests: a real server (no mocks), one fresh database per test.

The server is the one at `$AGENTFLOW_TEST_PG_URL` (`scripts/test` starts a throwaway cluster with
scripts/postgres.sh when nothing is configured and PostgreSQL is installed; `.ci/run` always does). Without one
these tests skip, naming what to install — except under CI (`CI=true` or `AGENTFLOW_REQUIRE_POSTGRES=1`), where
they fail: CI must never pass by skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import NoReturn

import pytest

REQUIRED = os.environ.get("CI") == "true" or os.environ.get("AGENTFLOW_REQUIRE_POSTGRES") == "1"


def pg_unavailable(message: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"CI requires a PostgreSQL server: {message}", pytrace=False)
    pytest.skip(message)


def server_url() -> str:
    """The test server's URL (its maintenance database), or skip / fail."""
    url = os.environ.get("AGENTFLOW_TEST_PG_URL")
    if not url:
        pg_unavailable(
            "PostgreSQL tests need a server: set AGENTFLOW_TEST_PG_URL, or install PostgreSQL "
            "(sudo apt-get install -y postgresql) and let scripts/test start one"
        )
    try:
        import psycopg
    except ImportError:
        pg_unavailable("PostgreSQL tests need psycopg: pip install 'agentflow[postgres]'")
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pg_unavailable(f"the PostgreSQL server at {url} does not answer: {exc}")
    return url


def with_database(url: str, name: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url)._replace(path=f"/{name}").geturl()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty database on the test server, dropped after the test."""
    import psycopg

    server = server_url()
    name = f"agentflow_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

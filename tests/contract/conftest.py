from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.adapters import BLOB_STORES, JOB_STORES, QUEUES, RECORD_STORES, USER_STORES


@pytest.fixture(params=sorted(BLOB_STORES))
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with BLOB_STORES[request.param](tmp_path) as store:
        yield store


@pytest.fixture(params=sorted(QUEUES))
def queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with QUEUES[request.param](tmp_path) as adapter:
        yield adapter


@pytest.fixture(params=sorted(RECORD_STORES))
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with RECORD_STORES[request.param](tmp_path) as store:
        yield store


@pytest.fixture(params=sorted(USER_STORES))
def users(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with USER_STORES[request.param](tmp_path) as store:
        yield store


@pytest.fixture(params=sorted(JOB_STORES))
def job_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with JOB_STORES[request.param](tmp_path) as store:
        yield store

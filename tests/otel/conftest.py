"""The OpenTelemetry tests need the `otel` extra (in `dev`) and a real OTLP/HTTP receiver on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.proto", reason="the otel extra (in dev) is not installed")

from otlp_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as rec:
        yield rec

"""Count AWS requests per service and operation with botocore's event hooks (the cost benchmark
and tests use it; nothing in the request path depends on it)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class RequestMeter:
    """Attach to clients; records (service, operation) and each call's parameters."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build.*.*", self._record)
        return client

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_id.hyphenize()
        self.counts[(service, model.name)] += 1
        self.calls.append((service, model.name, params))

    def of(self, service: str, operation: str | None = None) -> list[dict[str, Any]]:
        return [p for s, o, p in self.calls if s == service and (operation is None or o == operation)]

    def reset(self) -> None:
        self.counts.clear()
        self.calls.clear()

"""Checks of what a user names against what exists, with "did you mean" suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from autolabel.domain.errors import NotFound, ValidationError


def nearest(name: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.5)
    found = [lowered[c] for c in close]
    # Substring hits catch "motorbike" -> "motorcycle"-style misses that difflib ranks low.
    for candidate in pool:
        if len(found) >= limit:
            break
        if candidate not in found and (name.lower() in candidate.lower() or candidate.lower() in name.lower()):
            found.append(candidate)
    return found


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = nearest(name, candidates)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def validate_concepts(concepts: Sequence[str], labels: Sequence[str], model_id: str) -> list[str]:
    """Return the concepts de-duplicated in the order given, or raise listing the nearest names."""
    if not concepts:
        raise ValidationError("choose at least one concept")
    known = set(labels)
    unknown = [c for c in concepts if c not in known]
    if unknown:
        hints = "; ".join(f"'{c}'{did_you_mean(c, labels)}" for c in unknown)
        raise ValidationError(
            f"model '{model_id}' has no concept {hints}",
            {"unknown": unknown, "suggestions": {c: nearest(c, labels) for c in unknown}},
        )
    return list(dict.fromkeys(concepts))


def not_found(kind: str, name: str, candidates: Iterable[str]) -> NotFound:
    return NotFound(f"no {kind} named '{name}'{did_you_mean(name, candidates)}", {kind: name})

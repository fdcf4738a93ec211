"""Concept validation and "did you mean" suggestions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autolabel.domain import errors
from autolabel.domain.concepts import did_you_mean, nearest, not_found, validate_concepts

LABELS = ["person", "bicycle", "car", "motorcycle", "cat", "dog", "cattle", "truck", "traffic light"]


def validation_error(concepts: list[str], labels: list[str] = LABELS) -> errors.ValidationError:
    with pytest.raises(errors.ValidationError) as info:
        validate_concepts(concepts, labels, "detr")
    return info.value


# --------------------------------------------------------------------------- validate_concepts


def test_known_concepts_pass_in_given_order() -> None:
    assert validate_concepts(["dog", "cat", "car"], LABELS, "detr") == ["dog", "cat", "car"]


def test_duplicates_removed_keeping_first_occurrence_order() -> None:
    assert validate_concepts(["dog", "cat", "dog", "car", "cat"], LABELS, "detr") == ["dog", "cat", "car"]


def test_empty_list_rejected() -> None:
    err = validation_error([])
    assert "at least one concept" in err.message


@pytest.mark.parametrize("typo", ["motorbike", "motocycle", "motorcyle", "Motorcycle"])
def test_motorcycle_typos_suggest_motorcycle(typo: str) -> None:
    err = validation_error(["cat", typo])
    assert "did you mean" in err.message
    assert "motorcycle" in err.message
    assert f"'{typo}'" in err.message
    assert "detr" in err.message
    assert err.details["unknown"] == [typo]
    assert "motorcycle" in err.details["suggestions"][typo]


def test_catt_suggests_cat_first() -> None:
    err = validation_error(["catt"])
    suggestions = err.details["suggestions"]["catt"]
    assert suggestions[0] == "cat"
    assert len(suggestions) <= 3
    assert "did you mean: cat" in err.message


def test_every_unknown_concept_listed() -> None:
    err = validation_error(["dgo", "cat", "trukc"])
    assert err.details["unknown"] == ["dgo", "trukc"]
    assert "'dgo'" in err.message
    assert "'trukc'" in err.message
    assert "dog" in err.details["suggestions"]["dgo"]
    assert "truck" in err.details["suggestions"]["trukc"]
    assert "'cat'" not in err.message


def test_unknown_with_no_close_name_has_no_suggestion() -> None:
    err = validation_error(["zzzzqx"])
    assert err.details["suggestions"] == {"zzzzqx": []}
    assert "did you mean" not in err.message
    assert "zzzzqx" in err.message


def test_lookup_is_case_sensitive_but_suggests_the_right_case() -> None:
    err = validation_error(["Cat"])
    assert err.details["suggestions"]["Cat"][0] == "cat"


def test_validation_error_is_domain_type() -> None:
    err = validation_error(["nope"])
    assert isinstance(err, ValueError)
    assert err.code == "validation_error"


# --------------------------------------------------------------------------- nearest / did_you_mean


def test_nearest_limit_respected() -> None:
    assert len(nearest("ca", LABELS, limit=2)) <= 2
    assert nearest("cat", LABELS, limit=1) == ["cat"]


def test_nearest_returns_original_case() -> None:
    assert nearest("TRAFFIC LIGHT", LABELS) == ["traffic light"]
    assert nearest("traffic", ["Traffic Light"]) == ["Traffic Light"]


def test_nearest_substring_fallback() -> None:
    assert "motorcycle" in nearest("motor", LABELS)


def test_nearest_no_candidates() -> None:
    assert nearest("cat", []) == []
    assert did_you_mean("cat", []) == ""


def test_did_you_mean_format() -> None:
    assert did_you_mean("dgo", ["dog", "zebra"]) == " (did you mean: dog?)"


@given(name=st.text(max_size=12), pool=st.lists(st.text(min_size=1, max_size=12), max_size=10, unique=True))
def test_nearest_only_returns_candidates_without_repeats(name: str, pool: list[str]) -> None:
    found = nearest(name, pool)
    assert len(found) <= 3
    assert len(set(found)) == len(found)
    assert all(c in pool for c in found)


# --------------------------------------------------------------------------- not_found


def test_not_found_message_has_did_you_mean() -> None:
    err = not_found("model", "detrr", ["detr", "yolo"])
    assert isinstance(err, errors.NotFound)
    assert "did you mean" in err.message
    assert "detr" in err.message
    assert "no model named 'detrr'" in err.message
    assert err.details == {"model": "detrr"}
    assert err.http_status == 404


def test_not_found_without_close_match() -> None:
    err = not_found("dataset", "qqqq", ["photos"])
    assert err.message == "no dataset named 'qqqq'"

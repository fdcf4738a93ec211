"""Concurrency controls and the upload path in the synthesized template, and the checks the
configuration makes before anything is synthesized."""

from __future__ import annotations

import re
from typing import Any

import pytest

from autolabel.domain.inputs import IMAGE_EXTENSIONS, TEXT_EXTENSIONS
from infra.config import Config
from tests.infra.conftest import Synthesized


def function_of(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    properties: dict[str, Any] = synthesized.template["Resources"][synthesized.logical_id(construct)]["Properties"]
    return properties


def test_inference_and_the_api_have_reserved_concurrency(synthesized: Synthesized) -> None:
    stack, config = synthesized.stack, synthesized.config
    assert function_of(synthesized, stack.pipeline.infer)["ReservedConcurrentExecutions"] == 20
    assert function_of(synthesized, stack.api.handler)["ReservedConcurrentExecutions"] == 20
    assert config.inference_reserved_concurrency >= config.max_concurrency  # no batch is throttled
    for unreserved in (stack.pipeline.start, stack.pipeline.finalize, stack.review.label):
        assert "ReservedConcurrentExecutions" not in function_of(synthesized, unreserved)


def test_the_upload_event_source_has_a_maximum_concurrency(synthesized: Synthesized) -> None:
    by_function = {
        m["Properties"]["FunctionName"]["Ref"]: m["Properties"]
        for m in synthesized.resources("AWS::Lambda::EventSourceMapping").values()
    }
    stack = synthesized.stack
    assert set(by_function) == {synthesized.logical_id(stack.review.label), synthesized.logical_id(stack.jobs.function)}
    assert by_function[synthesized.logical_id(stack.review.label)]["ScalingConfig"] == {"MaximumConcurrency": 5}
    # Jobs are asked for by people, a few at a time: a burst of them waits rather than crowding.
    assert by_function[synthesized.logical_id(stack.jobs.function)]["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_the_upload_rule_passes_only_accepted_kinds_of_accepted_size(synthesized: Synthesized) -> None:
    (rule,) = synthesized.resources("AWS::Events::Rule").values()
    obj = rule["Properties"]["EventPattern"]["detail"]["object"]
    patterns = [p["wildcard"] for p in obj["key"]]
    extensions = IMAGE_EXTENSIONS | TEXT_EXTENSIONS
    assert set(patterns) == {f"uploads/*.{e}" for e in extensions} | {f"uploads/*.{e.upper()}" for e in extensions}
    assert obj["size"] == [{"numeric": [">", 0, "<=", 25 * 1024 * 1024]}]

    def passes(key: str, size: int) -> bool:
        """EventBridge's wildcard and numeric matching, for this pattern."""
        by_key = any(re.fullmatch(".*".join(map(re.escape, p.split("*"))), key) for p in patterns)
        return by_key and 0 < size <= 25 * 1024 * 1024

    assert passes("uploads/street/cat.jpg", 1000) and passes("uploads/street/CAT.JPG", 1000)
    assert passes("uploads/street/notes.txt", 10)
    assert not passes("uploads/street/movie.mp4", 1000)  # not a kind autolabel takes
    assert not passes("uploads/street/huge.png", 26 * 1024 * 1024)  # over the limit
    assert not passes("uploads/street/", 0)  # a console "folder"
    assert not passes("datasets/d/cat.jpg", 1000)  # not an upload


def test_label_upload_knows_the_limit(synthesized: Synthesized) -> None:
    environment = function_of(synthesized, synthesized.stack.review.label)["Environment"]["Variables"]
    assert environment["AUTOLABEL_UPLOAD_MAX_BYTES"] == str(25 * 1024 * 1024)


def test_uploads_expire_by_a_lifecycle_rule(synthesized: Synthesized) -> None:
    bucket = function_of(synthesized, synthesized.stack.storage.bucket)
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["uploads"] == {"Id": "uploads", "Prefix": "uploads/", "ExpirationInDays": 30, "Status": "Enabled"}


def test_review_queue_grants_name_the_configured_prefix(synthesized: Synthesized) -> None:
    """Every grant that can create review queues ends in <queue_prefix>*, where domain.queues
    puts every review queue's name."""
    granted = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "sqs:CreateQueue" in actions:
                granted.append(statement["Resource"]["Fn::Join"][1][-1])
    assert len(granted) >= 4 and all(r.endswith(":al-*") for r in granted)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"account_concurrency": 10}, "leave fewer than the 100 Lambda keeps unreserved"),
        ({"inference_reserved_concurrency": 500, "api_reserved_concurrency": 450}, "ask for a higher quota"),
        ({"max_concurrency": 40}, "max_concurrency 40 exceeds inference_reserved_concurrency 20"),
        ({"upload_max_concurrency": 1}, "2–1000"),
        ({"queue_prefix": "al.*"}, "queue prefix"),
        ({"upload_prefix": "up*loads/"}, "upload_prefix"),
        (
            {"account_concurrency": 10, "inference_reserved_concurrency": 0, "api_reserved_concurrency": 0},
            "leave no concurrency for the API",
        ),
    ],
)
def test_config_refuses_what_aws_would_refuse_or_throttle(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Config(**changes)


def test_a_new_account_with_a_quota_of_10_can_deploy_without_reservations() -> None:
    config = Config(
        account_concurrency=10,
        inference_reserved_concurrency=0,
        api_reserved_concurrency=0,
        max_concurrency=5,
        upload_max_concurrency=2,
    )
    assert config.max_concurrency + config.upload_max_concurrency < config.account_concurrency


def test_the_scripts_client_allows_admin_sign_in_for_the_smoke_test(synthesized: Synthesized) -> None:
    client = function_of(synthesized, synthesized.stack.api.client)
    flows = set(client["ExplicitAuthFlows"])
    # `make smoke-aws` signs its users in with the deployer's credentials; no password flow
    # without AWS credentials (ALLOW_USER_PASSWORD_AUTH) is opened.
    assert "ALLOW_ADMIN_USER_PASSWORD_AUTH" in flows and "ALLOW_USER_PASSWORD_AUTH" not in flows
    assert "ALLOW_USER_SRP_AUTH" in flows

"""The synthesized template: security properties, least privilege, the run state machine."""

from __future__ import annotations

import json
import re
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from autolabel.aws.errors import Throttled
from autolabel.domain.errors import Contended
from tests.infra.conftest import Synthesized


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, list(resources)
    properties: dict[str, Any] = next(iter(resources.values()))["Properties"]
    return properties


def definition(synthesized: Synthesized) -> dict[str, Any]:
    machine = only(synthesized.resources("AWS::StepFunctions::StateMachine"))
    parts = machine["DefinitionString"]["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts)))


def test_cdk_nag_has_no_unacknowledged_finding(synthesized: Synthesized) -> None:
    report = synthesized.outdir / "validation-report.json"
    if report.exists():  # written only when a plugin reported something
        for plugin in json.loads(report.read_text())["pluginReports"]:
            assert plugin["violations"] == [], plugin["violations"]
    acknowledged = [
        (construct.node.path, json.dumps(entry.data, default=str))
        for construct in synthesized.stack.node.find_all()
        for entry in construct.node.metadata
        if "AwsSolutions-" in json.dumps(entry.data, default=str)
    ]
    assert acknowledged, "acknowledgements are recorded as construct metadata"
    for path, text in acknowledged:
        # Each names one resource (not the stack) and gives a reason of substance.
        assert path.count("/") >= 1 and len(text) > 80, (path, text)
    print(len(acknowledged), "acknowledgements")


def test_bucket_defaults_are_secure(synthesized: Synthesized) -> None:
    buckets = synthesized.resources("AWS::S3::Bucket")
    data = buckets[synthesized.logical_id(synthesized.stack.storage.bucket)]["Properties"]
    assert data["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert data["VersioningConfiguration"] == {"Status": "Enabled"}
    assert data["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    rules = {r.get("Prefix"): r for r in data["LifecycleConfiguration"]["Rules"]}
    assert rules["runs/"]["ExpirationInDays"] == 7
    assert data["LoggingConfiguration"]["LogFilePrefix"] == "data/"
    # CDK turns EventBridge delivery on through its bucket-notifications custom resource.
    notifications = only(synthesized.resources("Custom::S3BucketNotifications"))
    assert "EventBridgeConfiguration" in notifications["NotificationConfiguration"]
    policies = [p["Properties"]["PolicyDocument"] for p in synthesized.resources("AWS::S3::BucketPolicy").values()]
    for policy in policies:  # TLS only, on both buckets
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Statement"]
        )
    assert len(policies) == 3  # the data bucket, its access logs, the web app's site


def test_table_matches_the_adapter_and_is_on_demand_with_pitr(synthesized: Synthesized) -> None:
    from autolabel.aws import records

    captured: dict[str, Any] = {}

    class Recorder:
        def create_table(self, **kwargs: Any) -> None:
            captured.update(kwargs)

    records.create_table(Recorder(), "t")  # type: ignore[arg-type]  # a recorder, not a DynamoDBClient
    tables = synthesized.resources("AWS::DynamoDB::Table")
    table = tables[synthesized.logical_id(synthesized.stack.storage.table)]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["KeySchema"] == captured["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(captured["AttributeDefinitions"], key=str)
    deployed = {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]}
    assert deployed == {i["IndexName"]: i["KeySchema"] for i in captured["GlobalSecondaryIndexes"]}
    idempotency = tables[synthesized.logical_id(synthesized.stack.storage.idempotency)]["Properties"]
    assert idempotency["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_queues_are_encrypted_with_a_dlq_and_fed_by_the_upload_rule(synthesized: Synthesized) -> None:
    uploads_id = synthesized.logical_id(synthesized.stack.review.uploads)
    queues = synthesized.resources("AWS::SQS::Queue")
    uploads = queues[uploads_id]["Properties"]
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in queues.values())
    assert uploads["RedrivePolicy"]["maxReceiveCount"] == 5
    rule = only(synthesized.resources("AWS::Events::Rule"))
    assert rule["EventPattern"]["detail-type"] == ["Object Created"]
    assert {"wildcard": "uploads/*.jpg"} in rule["EventPattern"]["detail"]["object"]["key"]
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [uploads_id, "Arn"]}
    mappings = synthesized.resources("AWS::Lambda::EventSourceMapping")
    uploads_mapping = next(
        m for m in mappings.values() if m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0] == uploads_id
    )
    assert uploads_mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    jobs_id = synthesized.logical_id(synthesized.stack.jobs.queue)
    assert queues[jobs_id]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 3  # = functions/run_job MAX_RECEIVES


JOB_RUNNER = "Runs a job's chunks (export, version, delete, rethreshold, bulk accept) and re-enqueues it"


def test_functions_run_python_312_on_arm64_with_tracing(synthesized: Synthesized) -> None:
    ours = {
        k: v["Properties"]
        for k, v in synthesized.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler") == "handler.handler"
    }
    assert len(ours) == 6
    for properties in ours.values():
        assert properties["Architectures"] == ["arm64"]
        assert properties["Runtime"] == "python3.12"
        assert properties["TracingConfig"] == {"Mode": "Active"}
    # Each function carries what it imports: the model runtime only where a model runs.
    pipeline = synthesized.stack.pipeline
    layer = {
        synthesized.logical_id(pipeline.core_layer): "core",
        synthesized.logical_id(pipeline.imaging_layer): "imaging",
        synthesized.logical_id(pipeline.inference_layer): "inference",
    }
    carried = {
        properties["Description"]: sorted(layer[ref["Ref"]] for ref in properties["Layers"])
        for properties in ours.values()
    }
    assert carried == {
        "Registers a task's inputs and writes the run manifest": ["core"],
        "Infers, routes and records one batch of a run": ["core", "imaging", "inference"],
        "Records unprocessed inputs and sets the task's final status": ["core"],
        "Labels an uploaded object for every task that watches its dataset": ["core", "imaging", "inference"],
        "HTTP API entry point": ["core", "imaging"],
        "Runs a job's chunks (export, version, delete, rethreshold, bulk accept) and re-enqueues it": [
            "core",
            "imaging",
        ],
    }
    infer = ours[synthesized.logical_id(synthesized.stack.pipeline.infer)]
    assert infer["MemorySize"] == synthesized.config.inference_memory_mb
    assert infer["Environment"]["Variables"]["AUTOLABEL_INTRA_OP_THREADS"] == "1"  # 1024 MB: 0.58 vCPU


def statements_of(synthesized: Synthesized, fn: Any) -> list[dict[str, Any]]:
    role_id = synthesized.logical_id(fn.role)
    found = []
    for policy in synthesized.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def grants(synthesized: Synthesized, fn: Any) -> dict[str, set[str]]:
    """action -> the resources it is granted on, tokens rendered as <LogicalId> strings."""

    def render(resource: Any) -> str:
        if isinstance(resource, str):
            return resource
        if "Fn::GetAtt" in resource:
            return f"<{resource['Fn::GetAtt'][0]}>"
        if "Ref" in resource:
            return f"<{resource['Ref']}>"
        if "Fn::Join" in resource:
            return "".join(render(p) for p in resource["Fn::Join"][1])
        return json.dumps(resource)

    table: dict[str, set[str]] = {}
    for statement in statements_of(synthesized, fn):
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            table.setdefault(action, set()).update(render(r) for r in resources)
    return table


def test_least_privilege(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    records = synthesized.logical_id(stack.storage.table)
    idem = synthesized.logical_id(stack.storage.idempotency)
    bucket = synthesized.logical_id(stack.storage.bucket)
    queues = "arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:al-*"
    tracing = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    logs = {"logs:CreateLogStream", "logs:PutLogEvents"}
    records_rw = {
        f"dynamodb:{a}"
        for a in (
            "GetItem",
            "BatchGetItem",
            "Query",
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "ConditionCheckItem",
        )
    }
    send = {"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:CreateQueue", "sqs:GetQueueAttributes"}
    put_alarm = {"cloudwatch:PutMetricAlarm"}  # creating a review queue puts its DLQ's alarm
    expected = {
        stack.pipeline.start: records_rw | send | put_alarm | {"s3:PutObject"},
        stack.pipeline.infer: records_rw | send | put_alarm | {"s3:GetObject", "s3:ListBucket"},
        stack.pipeline.finalize: records_rw | send | put_alarm,
    }
    for fn, actions in expected.items():
        table = grants(synthesized, fn)
        assert set(table) - tracing - logs == actions, fn.node.id
        for action in tracing:
            assert table[action] == {"*"}
        for action in logs:  # its own log group only
            assert len(table[action]) == 1 and "*" not in table[action]
        for action in records_rw:
            assert table[action] <= {f"<{records}>", f"<{records}>/index/*", f"<{idem}>"}
        for action in send:
            assert table[action] == {queues}
        assert "dynamodb:Scan" not in table and not any(a.endswith(":*") for a in table)
    assert grants(synthesized, stack.pipeline.start)["s3:PutObject"] == {f"<{bucket}>/runs/*"}
    assert grants(synthesized, stack.pipeline.infer)["s3:GetObject"] == {
        f"<{bucket}>/datasets/*",
        f"<{bucket}>/models/*",
    }
    assert grants(synthesized, stack.pipeline.infer)["dynamodb:PutItem"] == {
        f"<{records}>",
        f"<{records}>/index/*",
        f"<{idem}>",
    }
    label = grants(synthesized, stack.review.label)
    assert label["s3:GetObject"] == {f"<{bucket}>/uploads/*", f"<{bucket}>/datasets/*", f"<{bucket}>/models/*"}
    assert label["s3:PutObject"] == {f"<{bucket}>/datasets/*"}
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= set(label)  # its upload queue, from the event source
    assert label["sqs:ReceiveMessage"] == {f"<{synthesized.logical_id(stack.review.uploads)}>"}
    api = grants(synthesized, stack.api.handler)
    assert api["states:StartExecution"] == {f"<{synthesized.logical_id(stack.pipeline.state_machine)}>"}
    (executions,) = api["states:DescribeExecution"]  # is run n-1 still running? This machine's only.
    assert ":execution:" in executions and executions.endswith(":*"), executions
    # Deleting an input removes its uploaded bytes; versions and task deletion are run_job's.
    assert api["s3:DeleteObject"] == {f"<{bucket}>/datasets/*"}
    assert api["s3:PutObject"] == {f"<{bucket}>/datasets/*", f"<{bucket}>/models/*"}
    assert api["s3:GetObject"] == {
        f"<{bucket}>/datasets/*",
        f"<{bucket}>/versions/*",
        f"<{bucket}>/models/*",
        f"<{bucket}>/jobs/*",
    }
    jobs_queue = f"<{synthesized.logical_id(stack.jobs.queue)}>"
    assert api["sqs:SendMessage"] == {queues, jobs_queue} and "sqs:DeleteQueue" not in api
    assert "dynamodb:DeleteTable" not in api and "s3:DeleteBucket" not in api


def test_the_job_runner_has_what_its_jobs_use_and_no_more(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    bucket = synthesized.logical_id(stack.storage.bucket)
    records = synthesized.logical_id(stack.storage.table)
    jobs_queue = f"<{synthesized.logical_id(stack.jobs.queue)}>"
    review_queues = "arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:al-*"
    table = grants(synthesized, stack.jobs.function)
    assert table["s3:GetObject"] == {f"<{bucket}>/jobs/*", f"<{bucket}>/versions/*", f"<{bucket}>/datasets/*"}
    assert table["s3:PutObject"] == table["s3:DeleteObject"] == {f"<{bucket}>/jobs/*", f"<{bucket}>/versions/*"}
    assert table["dynamodb:BatchWriteItem"] == {f"<{records}>", f"<{records}>/index/*"}
    # Review queues: deleted with their task, sent to by rethreshold, leases deleted by bulk accept.
    assert table["sqs:DeleteQueue"] == {review_queues}
    assert table["sqs:SendMessage"] == {review_queues, jobs_queue}  # carrying on = sending the job again
    assert table["sqs:ReceiveMessage"] == {jobs_queue}  # its event source
    assert table["cloudwatch:DeleteAlarms"] == {
        "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:autolabel-*"
    }
    # s3:ListBucket only so that a missing key is NotFound (test_every_reader_may_list_exactly…).
    assert not any(a.startswith(("states:", "kms:", "sns:")) for a in table) and "s3:ListAllMyBuckets" not in table
    assert not any(a.endswith(":*") for a in table)
    function = synthesized.template["Resources"][synthesized.logical_id(stack.jobs.function)]["Properties"]
    assert function["Timeout"] == 300 and function["Environment"]["Variables"]["AUTOLABEL_JOBS_QUEUE_URL"] == {
        "Ref": synthesized.logical_id(stack.jobs.queue)
    }
    mapping = next(
        m["Properties"]
        for m in synthesized.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": synthesized.logical_id(stack.jobs.function)}
    )
    assert mapping["BatchSize"] == 1 and mapping["EventSourceArn"] == {"Fn::GetAtt": [jobs_queue[1:-1], "Arn"]}
    visibility = synthesized.resources("AWS::SQS::Queue")[jobs_queue[1:-1]]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * function["Timeout"]


def test_every_reader_may_list_exactly_the_prefixes_it_reads(synthesized: Synthesized) -> None:
    """S3 answers a HeadObject/GetObject of a missing key with 403 unless the caller may
    s3:ListBucket (moto does not: tests/contract/moto_iam.py adds it). So every role that reads
    objects — existence checks, models, inputs that may be gone — lists the bucket, scoped by an
    s3:prefix condition to the very prefixes it reads, and nothing else."""
    stack = synthesized.stack
    bucket = synthesized.logical_id(stack.storage.bucket)
    functions = [
        stack.pipeline.start,
        stack.pipeline.infer,
        stack.pipeline.finalize,
        stack.review.label,
        stack.jobs.function,
    ]
    readers = 0
    for fn in [*functions, stack.api.handler]:
        read = {r.removeprefix(f"<{bucket}>/") for r in grants(synthesized, fn).get("s3:GetObject", set())}
        listing = [s for s in statements_of(synthesized, fn) if "s3:ListBucket" in json.dumps(s["Action"])]
        if not read:
            assert listing == [], fn.node.id
            continue
        readers += 1
        (statement,) = listing
        assert statement["Action"] == "s3:ListBucket", fn.node.id
        assert statement["Resource"] == {"Fn::GetAtt": [bucket, "Arn"]}, fn.node.id
        assert set(statement["Condition"]) == {"StringLike"}, fn.node.id
        assert set(statement["Condition"]["StringLike"]["s3:prefix"]) == read, fn.node.id
    assert readers == 4  # infer, label, run_job and the API


def test_only_queue_creators_manage_alarms_and_only_under_the_prefix(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    alarms = "arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:autolabel-*"
    # Every function that may create a review queue (the pipeline's and label_upload heal a lost
    # one; the API creates a task's; rethreshold jobs send) puts alarms; only run_job, which
    # deletes tasks, deletes them.
    expected = {
        stack.pipeline.start: {"cloudwatch:PutMetricAlarm"},
        stack.pipeline.infer: {"cloudwatch:PutMetricAlarm"},
        stack.pipeline.finalize: {"cloudwatch:PutMetricAlarm"},
        stack.review.label: {"cloudwatch:PutMetricAlarm"},
        stack.api.handler: {"cloudwatch:PutMetricAlarm"},
        stack.jobs.function: {"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"},
    }
    for fn, actions in expected.items():
        table = grants(synthesized, fn)
        assert "sqs:CreateQueue" in table, fn.node.id
        assert {a for a in table if a.startswith("cloudwatch:")} == actions, fn.node.id
        for action in actions:
            assert table[action] == {alarms}, fn.node.id
        assert not any(a.startswith(("sns:", "kms:")) for a in table), fn.node.id  # publishing is CloudWatch's
        function = synthesized.template["Resources"][synthesized.logical_id(fn)]["Properties"]
        variables = function["Environment"]["Variables"]
        assert variables["AUTOLABEL_ALARM_PREFIX"] == synthesized.config.alarm_prefix
        assert variables["AUTOLABEL_ALARM_ACTION"] == {"Ref": synthesized.logical_id(stack.alerts.topic)}


def test_alarms_notify_an_encrypted_topic_only_cloudwatch_publishes_to(synthesized: Synthesized) -> None:
    topic_id = synthesized.logical_id(synthesized.stack.alerts.topic)
    key_id = synthesized.logical_id(synthesized.stack.alerts.key)
    topic = only(synthesized.resources("AWS::SNS::Topic"))
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = synthesized.template["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True and key["DeletionPolicy"] == "Delete"
    statements = only(synthesized.resources("AWS::SNS::TopicPolicy"))["PolicyDocument"]["Statement"]
    (publish,) = [s for s in statements if s["Effect"] == "Allow"]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Action"] == "sns:Publish" and publish["Resource"] == {"Ref": topic_id}
    assert "aws:SourceAccount" in publish["Condition"]["StringEquals"]
    (insecure,) = [s for s in statements if s["Effect"] == "Deny"]
    assert insecure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    key_policy = key["Properties"]["KeyPolicy"]["Statement"]
    (use,) = [s for s in key_policy if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(use["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    for alarm in synthesized.resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    assert synthesized.template["Outputs"]["AlarmTopic"]["Value"] == {"Ref": topic_id}


def test_state_machine_fans_out_with_batches_retries_and_a_catch(synthesized: Synthesized) -> None:
    machine = only(synthesized.resources("AWS::StepFunctions::StateMachine"))
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    states = definition(synthesized)["States"]
    assert definition(synthesized)["StartAt"] == "Start"
    fan_out = states[states["Start"]["Next"]]
    assert fan_out["Type"] == "Map" and fan_out["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert fan_out["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert fan_out["ItemReader"]["Parameters"]["Key.$"] == "$.manifest_key"
    assert fan_out["ItemBatcher"] == {"MaxItemsPerBatch": 8, "BatchInput": {"task_id.$": "$.task_id"}}
    assert fan_out["MaxConcurrency"] == 7
    assert fan_out["ToleratedFailurePercentage"] == synthesized.config.tolerated_failure_percentage
    infer = fan_out["ItemProcessor"]["States"]["Infer"]
    retry, crashed = infer["Retry"]
    assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"] and retry["BackoffRate"] == 2
    assert retry["JitterStrategy"] == "FULL" and retry["MaxDelaySeconds"] == 30
    assert crashed["ErrorEquals"] == ["Sandbox.Timedout", "Lambda.Unknown"] and crashed["MaxAttempts"] == 1
    assert "States.ALL" not in retry["ErrorEquals"]  # domain errors are not retried
    for state in ("Start", "Finalize", "MarkFailed"):
        assert states[state]["Retry"] == infer["Retry"]
    # A Task without TimeoutSeconds never raises States.Timeout; the rest are raised by Lambda
    # itself or are the class names of exceptions our functions raise.
    assert "TimeoutSeconds" not in infer and "States.Timeout" not in retry["ErrorEquals"]
    raised_by_us = {e for e in retry["ErrorEquals"] if not e.startswith("Lambda.")}
    assert raised_by_us == {
        Throttled.__name__,
        Contended.__name__,
        IdempotencyAlreadyInProgressError.__name__,
    }
    for name in ("Start", fan_out and states["Start"]["Next"], "Finalize"):
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}]
    assert fan_out["Next"] == "Finalize" and states["Finalize"]["End"] is True
    assert states["MarkFailed"]["Parameters"] == {"task_id.$": "$.task_id", "error.$": "$.error"}
    # MarkFailed's output is dropped, so RunFailed still finds $.error.Error and $.error.Cause.
    assert states["MarkFailed"]["ResultPath"] is None
    assert states[states["MarkFailed"]["Next"]]["Type"] == "Fail"


def test_api_routes_need_a_cognito_token_but_health_and_are_logged(synthesized: Synthesized) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"] for r in synthesized.resources("AWS::ApiGatewayV2::Route").values()
    }
    # Every path goes to the resolver, which knows the routes; only the health check is open.
    proxied = {f"{method} /{{proxy+}}" for method in ("GET", "POST", "PATCH", "DELETE")}
    assert set(routes) == {"GET /health"} | proxied
    assert routes["GET /health"]["AuthorizationType"] == "NONE"
    assert all(routes[key]["AuthorizationType"] == "JWT" for key in proxied)
    authorizer = only(synthesized.resources("AWS::ApiGatewayV2::Authorizer"))
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    pool_id = synthesized.logical_id(synthesized.stack.api.user_pool)
    assert pool_id in json.dumps(authorizer["JwtConfiguration"]["Issuer"])
    client_id = synthesized.logical_id(synthesized.stack.api.client)
    assert {"Ref": client_id} in authorizer["JwtConfiguration"]["Audience"]  # and the web app's (test_web)
    pool = only(synthesized.resources("AWS::Cognito::UserPool"))
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON" and pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    groups = {g["Properties"]["GroupName"] for g in synthesized.resources("AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"admin", "reviewer"}
    client = synthesized.resources("AWS::Cognito::UserPoolClient")[client_id]["Properties"]
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlowsUserPoolClient"] is False  # scripts use SRP, never the hosted UI
    api_env = next(
        f["Properties"]["Environment"]["Variables"]
        for f in synthesized.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Description") == "HTTP API entry point"
    )
    assert api_env["AUTOLABEL_AUTH"] == "jwt"
    stage = only(synthesized.resources("AWS::ApiGatewayV2::Stage"))
    assert "requestId" in stage["AccessLogSettings"]["Format"]


def test_dashboard_and_alarms(synthesized: Synthesized) -> None:
    alarms = [a["Properties"] for a in synthesized.resources("AWS::CloudWatch::Alarm").values()]
    names = {a.get("MetricName") for a in alarms}
    assert {"ExecutionsFailed", "ApproximateNumberOfMessagesVisible", "Errors"} <= names
    body = json.dumps(only(synthesized.resources("AWS::CloudWatch::Dashboard"))["DashboardBody"])
    for metric in ("InputsProcessed", "PredictionsReview", "InferenceMs", "Duration", "ExecutionsStarted"):
        assert metric in body


def test_config_comes_from_cdk_context() -> None:
    from infra.config import Config

    context = {
        "batch_size": "32",
        "max_concurrency": "50",
        "inference_reserved_concurrency": "50",
        "retain_data": "false",
    }
    config = Config.from_context(context.get)
    assert (config.batch_size, config.max_concurrency, config.retain_data) == (32, 50, False)
    assert Config.from_context({}.get) == Config()


def test_no_log_on_aws_can_hold_a_token(synthesized: Synthesized) -> None:
    """The API's access log records the route key, never a header, the raw path or its query
    (a signed URL's signature); and no function logs its whole event (powertools does so only
    with POWERTOOLS_LOGGER_LOG_EVENT set: the API's event carries the Authorization header)."""
    stage = only(synthesized.resources("AWS::ApiGatewayV2::Stage"))
    fields = set(re.findall(r"\$(?:context|request)[\w.]*", stage["AccessLogSettings"]["Format"]))
    assert fields == {
        "$context.requestId",
        "$context.identity.sourceIp",
        "$context.routeKey",
        "$context.status",
        "$context.responseLatency",
    }
    for name, function in synthesized.resources("AWS::Lambda::Function").items():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "POWERTOOLS_LOGGER_LOG_EVENT" not in variables, name

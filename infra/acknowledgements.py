"""cdk-nag AwsSolutions findings this design accepts. Each acknowledgement sits on the resource
it concerns, names the exact finding (rule plus the resource pattern it flags) and says why.
Anything not listed here fails `cdk synth` (tests/infra asserts the report is clean)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnElement, DefaultStackSynthesizer, Stack, Token, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.stack import AutolabelStack

XRAY = "X-Ray's PutTraceSegments/PutTelemetryRecords accept no resource but '*' (active tracing)."
RUNTIME = (
    "Python 3.12 on purpose: the layers are built for cp312 arm64 wheels (onnxruntime, numpy, pillow) by "
    "layers/build.py; moving the runtime means rebuilding and re-testing them together."
)
BOOTSTRAP_QUALIFIER = "@aws-cdk/core:bootstrapQualifier"  # `cdk bootstrap --qualifier`; names the asset bucket


def ack(construct: IConstruct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def _pseudo(stack: Stack, value: str, name: str) -> str:
    """How cdk-nag prints a region/account: the pseudo parameter, or the value the CLI resolved."""
    return f"<{name}>" if Token.is_unresolved(value) else value


def _id(stack: Stack, construct: IConstruct) -> str:
    child = construct.node.default_child
    assert isinstance(child, CfnElement)
    return stack.resolve(child.logical_id)  # type: ignore[no-any-return]


def acknowledge(stack: AutolabelStack) -> None:
    bucket = _id(stack, stack.storage.bucket)
    table = _id(stack, stack.storage.table)
    region = _pseudo(stack, stack.region, "AWS::Region")
    account = _pseudo(stack, stack.account, "AWS::AccountId")
    queues = f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sqs:{region}:{account}:{stack.config.queue_prefix}*]"
    functions: dict[str, lambda_.Function] = {
        "start": stack.pipeline.start,
        "infer": stack.pipeline.infer,
        "finalize": stack.pipeline.finalize,
        "label": stack.review.label,
        "jobs": stack.jobs.function,
        "api": stack.api.handler,
    }
    for name, fn in functions.items():
        ack(fn, "AwsSolutions-L1", RUNTIME)
        role = fn.role
        assert role is not None
        ack(role, "AwsSolutions-IAM5[Resource::*]", XRAY)
        ack(
            role,
            f"AwsSolutions-IAM5[Resource::<{table}.Arn>/index/*]",
            "Queries go through the records table's GSI1/GSI2; index ARNs are the table ARN + /index/<name>.",
        )
        ack(
            role,
            queues,
            "Review queues are created per task at run time (al-<task>-<reviewer> and its -dlq); the prefix is "
            "the narrowest name known at deploy time.",
        )
        ack(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:{region}:{account}:alarm:"
            f"{stack.config.alarm_prefix}*]",
            "Each review queue's DLQ gets its alarm when the queue is created at run time (<prefix><dlq name>); the "
            "prefix is the narrowest name known at deploy time.",
        )
        if name in ("infer", "label", "api", "jobs"):
            ack(
                role,
                f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/datasets/*]",
                "Inputs are content-addressed objects under datasets/<dataset>/; only that prefix.",
            )
        if name in ("infer", "label"):
            ack(
                role,
                f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/models/*]",
                "Models are read from models/<id>/ (fetched once per container); read-only.",
            )
    api_role = stack.api.handler.role
    assert api_role is not None
    ack(
        api_role,
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/models/*]",
        "The API registers models (models/<id>/model.onnx, spec.json) and reads their specs; that prefix only.",
    )
    ack(
        api_role,
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/versions/*]",
        "Dataset versions are immutable snapshots read from versions/<task>/<n>.json; read-only, that prefix only.",
    )
    ack(
        api_role,
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/jobs/*]",
        "The API presigns the URLs of job results (jobs/<job id>/<file>); read-only, that prefix only.",
    )
    jobs_role = stack.jobs.function.role
    assert jobs_role is not None
    ack(
        jobs_role,
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/jobs/*]",
        "A job keeps its working files and its result under jobs/<job id>/; that prefix only.",
    )
    ack(
        jobs_role,
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/versions/*]",
        "Version jobs write snapshots versions/<task>/<n>.json and delete jobs remove a task's; that prefix only.",
    )
    ack(
        stack.api.user_pool,
        "AwsSolutions-COG8",
        "The Plus feature plan adds threat protection at a per-user monthly price; the pool already refuses "
        "self sign-up, requires TOTP MFA and 12-character passwords. Turn Plus on for internet-wide deployments.",
    )
    ack(
        stack.api.http_api,
        "AwsSolutions-APIG4",
        "Every route but GET /health uses the Cognito JWT authorizer; the health check is open on purpose (load "
        "balancers and uptime probes carry no token) and returns only {'status': 'ok'}.",
    )
    ack(
        stack.pipeline.start.role,  # type: ignore[arg-type]
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/runs/*]",
        "The start function writes run manifests runs/<task>/manifest.json only.",
    )
    ack(
        stack.review.label.role,  # type: ignore[arg-type]
        f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/{stack.config.upload_prefix}*]",
        "Uploads arrive under the upload prefix with names chosen by users; read-only.",
    )

    machine = stack.pipeline.state_machine
    machine_id = _id(stack, machine)
    ack(machine, "AwsSolutions-IAM5[Resource::*]", XRAY + " CloudWatch Logs delivery actions also take '*'.")
    for fn in (stack.pipeline.start, stack.pipeline.infer, stack.pipeline.finalize):
        ack(
            machine,
            f"AwsSolutions-IAM5[Resource::<{_id(stack, fn)}.Arn>:*]",
            "Invoking the run's own functions, any version or alias (CDK's LambdaInvoke grant).",
        )
    ack(
        machine,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<{bucket}>/*]",
        "The Distributed Map's ItemReader reads the manifest whose key comes from the run's input (runs/<task>/).",
    )
    executions = (
        f"arn:<AWS::Partition>:states:{region}:{account}:execution:"
        f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine_id}"}}]}}]}}'
    )
    for suffix in (":*", "/*:*"):
        ack(
            machine,
            f"AwsSolutions-IAM5[Resource::{executions}{suffix}]",
            "A Distributed Map starts and stops its own child executions (CDK's grant, scoped to this machine).",
        )
    ack(
        stack.api.handler.role,  # type: ignore[arg-type]
        f"AwsSolutions-IAM5[Resource::{executions}:*]",
        "DescribeExecution on this machine's executions: before starting run n of a task the API checks that run "
        "n-1 is not still running (autolabel.aws.executions); execution names are only known at run time.",
    )
    if stack.site is not None and stack.site_deployment is not None:
        _acknowledge_site(stack)
    notifications = stack.node.try_find_child("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
    if notifications is not None:
        ack(
            notifications,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's own deploy-time handler that turns on the bucket's EventBridge notifications; it runs only "
            "during deployment and CDK fixes its role.",
        )


def _acknowledge_site(stack: AutolabelStack) -> None:
    site, site_deployment = stack.site, stack.site_deployment
    assert site is not None and site_deployment is not None
    site_bucket = _id(stack, site.bucket)
    ack(
        site.distribution,
        "AwsSolutions-CFR1",
        "No geo restriction: reviewers work from wherever the operator's team is. The distribution serves only the "
        "static app; every API call needs a Cognito token. Add a restriction in the distribution if policy demands.",
    )
    ack(
        site.distribution,
        "AwsSolutions-CFR2",
        "No WAF web ACL: it serves only static, public build output (the app holds no data), and the API it calls "
        "checks a Cognito JWT on every route; a web ACL costs a monthly fee per ACL and rule. Attach one for "
        "internet-wide deployments.",
    )
    ack(
        site.distribution,
        "AwsSolutions-CFR4",
        "The distribution uses CloudFront's default *.cloudfront.net certificate, whose viewer policy CloudFront fixes "
        "at TLSv1 (MinimumProtocolVersion can only be set with a custom certificate); browsers negotiate TLS 1.2/1.3 "
        "anyway. With a custom domain and an ACM certificate, set TLSv1.2_2021.",
    )
    role = site_deployment.role
    region = _pseudo(stack, stack.region, "AWS::Region")
    account = _pseudo(stack, stack.account, "AWS::AccountId")
    qualifier = stack.node.try_get_context(BOOTSTRAP_QUALIFIER) or DefaultStackSynthesizer.DEFAULT_QUALIFIER
    ack(
        role,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-{qualifier}-assets-{account}-{region}/*]",
        "CDK's BucketDeployment reads the zipped web build from the bootstrap asset bucket (read-only actions); the "
        "object key is a content hash known only at synth.",
    )
    for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"):
        ack(
            role,
            f"AwsSolutions-IAM5[Action::{action}]",
            "CDK's BucketDeployment grant (read the asset, sync into the site bucket and prune old files), on the "
            "asset bucket and the site bucket only.",
        )
    ack(
        role,
        f"AwsSolutions-IAM5[Resource::<{site_bucket}.Arn>/*]",
        "The deployment function syncs the whole app into the site bucket, which holds nothing else.",
    )
    ack(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "CDK's BucketDeployment grants cloudfront:CreateInvalidation/GetInvalidation on '*'; this role belongs only "
        "to the deploy-time function, which invalidates this stack's distribution after each upload.",
    )
    handler = stack.node.try_find_child("Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C")
    assert handler is not None, "CDK renamed BucketDeployment's singleton function"
    ack(
        handler,
        "AwsSolutions-L1",
        "CDK's own BucketDeployment function: CDK picks its runtime and code (it runs the AWS CLI's s3 sync), and it "
        "runs only during `cdk deploy`.",
    )

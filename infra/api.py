"""The HTTP API: one Lambda behind an HTTP API with IAM authorization. The HTTP API issue adds
its routes to ``ROUTES``; starting a run is one of them (execution name = task id)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import Config
from infra.lambdas import RECORDS_READ, RECORDS_WRITE, function, queue_arn, table_statement
from infra.pipeline import Pipeline
from infra.storage import Storage

ROUTES: list[tuple[str, apigw.HttpMethod]] = [
    ("/health", apigw.HttpMethod.GET),
    ("/tasks/{name}", apigw.HttpMethod.GET),
    ("/tasks/{name}/run", apigw.HttpMethod.POST),
]


class Api(Construct):
    def __init__(self, scope: Construct, id: str, config: Config, storage: Storage, pipeline: Pipeline) -> None:
        super().__init__(scope, id)
        self.handler = function(
            self,
            "Api",
            layers=[pipeline.core_layer, pipeline.inference_layer],
            environment={
                **pipeline.environment,
                "AUTOLABEL_STATE_MACHINE_ARN": pipeline.state_machine.state_machine_arn,
            },
            timeout_s=29,
            description="HTTP API entry point",
        )
        table, bucket = storage.table, storage.bucket
        self.handler.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        # Presigned image URLs are signed with this role, so it needs to read the inputs.
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[bucket.arn_for_objects("datasets/*")]
            )
        )
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sqs:CreateQueue",
                    "sqs:DeleteQueue",
                    "sqs:GetQueueUrl",
                    "sqs:GetQueueAttributes",
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                ],
                resources=[queue_arn(self, config.queue_prefix)],
            )
        )
        pipeline.state_machine.grant_start_execution(self.handler)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.http_api = apigw.HttpApi(
            self,
            "Http",
            description="autolabel HTTP API",
            default_authorizer=authorizers.HttpIamAuthorizer(),
            create_default_stage=True,
        )
        stage = self.http_api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format='{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","route":"$context.routeKey",'
            '"status":"$context.status","latency":"$context.responseLatency"}',
        )
        integration = integrations.HttpLambdaIntegration("Lambda", self.handler)
        for path, method in ROUTES:
            self.http_api.add_routes(path=path, methods=[method], integration=integration)

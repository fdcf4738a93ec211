"""The HTTP API: one Lambda running the same resolver as `autolabel serve`, behind an HTTP API
whose JWT authorizer checks Cognito tokens. Users sign in to the stack's user pool; its groups
``admin`` and ``reviewer`` become the caller's role (authorization itself lives in the core).

API Gateway forwards every path to the Lambda (``ANY /{proxy+}``), so the resolver stays the one
place that knows the routes; only ``GET /health`` is open."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import Config
from infra.lambdas import RECORDS_READ, RECORDS_WRITE, function, queue_arn, table_statement
from infra.pipeline import Pipeline
from infra.storage import Storage

GROUPS = {
    "admin": "Create, change and delete datasets, models and tasks; see everything.",
    "reviewer": "Review the items of their own partition of the tasks they are on.",
}


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
                "AUTOLABEL_AUTH": "jwt",  # API Gateway has verified the caller's Cognito token
            },
            timeout_s=29,
            description="HTTP API entry point",
        )
        table, bucket = storage.table, storage.bucket
        self.handler.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        # Uploads and input deletion (datasets/), registered models (models/), dataset versions
        # (versions/); presigned image URLs are signed with this role, so it reads the inputs.
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects("datasets/*"), bucket.arn_for_objects("versions/*")],
            )
        )
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[bucket.arn_for_objects("models/*")]
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
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,  # an admin invites people; nobody signs themselves up
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_lowercase=True, require_uppercase=True, require_digits=True, require_symbols=True
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        for group, description in GROUPS.items():
            cognito.CfnUserPoolGroup(
                self,
                f"{group.title()}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=group,
                description=description,
            )
        self.client = self.user_pool.add_client(
            "Clients",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,  # browsers and scripts cannot keep a secret
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
        )
        self.http_api = apigw.HttpApi(
            self,
            "Http",
            description="autolabel HTTP API",
            # The ID token carries cognito:username and cognito:groups, which the core reads.
            default_authorizer=authorizers.HttpUserPoolAuthorizer(
                "Cognito", self.user_pool, user_pool_clients=[self.client]
            ),
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
        self.http_api.add_routes(
            path="/health",
            methods=[apigw.HttpMethod.GET],
            integration=integration,
            authorizer=apigw.HttpNoneAuthorizer(),
        )
        self.http_api.add_routes(path="/{proxy+}", methods=[apigw.HttpMethod.ANY], integration=integration)

"""The HTTP API: one Lambda running the same resolver as `autolabel serve`, behind an HTTP API
whose JWT authorizer checks Cognito tokens. Users sign in to the stack's user pool; its groups
``admin`` and ``reviewer`` become the caller's role (authorization itself lives in the core).

API Gateway forwards every path to the Lambda (``/{proxy+}`` for each method the resolver serves),
so the resolver stays the one place that knows the routes; only ``GET /health`` is open.

With the web app (``infra/web.py``) the pool also gets a hosted-UI domain and a web app client
(authorization code + PKCE, no secret), the authorizer accepts that client's tokens too, and CORS
lets the app's CloudFront origin, and no other, call the API."""

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
from infra.lambdas import (
    ALARM_PUT,
    RECORDS_READ,
    RECORDS_WRITE,
    alarm_statement,
    function,
    list_statement,
    queue_arn,
    table_statement,
)
from infra.pipeline import Pipeline
from infra.storage import Storage
from infra.web import Site, sign_in_domain_prefix

GROUPS = {
    "admin": "Create, change and delete datasets, models and tasks; see everything.",
    "reviewer": "Review the items of their own partition of the tasks they are on.",
}

# The methods the resolver's routes use (docs/openapi.json; a test keeps them equal). Routes per
# method rather than ANY: an ANY route with an authorizer also catches the browser's unauthenticated
# CORS preflight (OPTIONS) and answers 401, while an OPTIONS matching no route is answered by API
# Gateway's own CORS handling.
METHODS = [apigw.HttpMethod.GET, apigw.HttpMethod.POST, apigw.HttpMethod.PATCH, apigw.HttpMethod.DELETE]


class Api(Construct):
    def __init__(
        self, scope: Construct, id: str, config: Config, storage: Storage, pipeline: Pipeline, site: Site | None
    ) -> None:
        super().__init__(scope, id)
        self.handler = function(
            self,
            "Api",
            # The API imports no numpy or onnxruntime (a test checks): no model runtime to carry.
            layers=[pipeline.core_layer, pipeline.imaging_layer],
            environment={
                **pipeline.environment,
                "AUTOLABEL_STATE_MACHINE_ARN": pipeline.state_machine.state_machine_arn,
                "AUTOLABEL_AUTH": "jwt",  # API Gateway has verified the caller's Cognito token
            },
            timeout_s=29,
            reserved_concurrency=config.api_reserved_concurrency,
            description="HTTP API entry point",
        )
        table, bucket = storage.table, storage.bucket
        self.handler.add_to_role_policy(table_statement(table.table_arn, RECORDS_READ + RECORDS_WRITE))
        # Uploads and input deletion (datasets/), registered models (models/), reading dataset
        # versions (versions/: the run_job function writes and deletes them); presigned URLs of
        # images and of job results (jobs/) are signed with this role, so it reads them.
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[bucket.arn_for_objects("datasets/*")],
            )
        )
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects("versions/*"), bucket.arn_for_objects("jobs/*")],
            )
        )
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"], resources=[bucket.arn_for_objects("models/*")]
            )
        )
        self.handler.add_to_role_policy(list_statement(bucket, ["datasets/", "models/", "versions/", "jobs/"]))
        self.handler.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sqs:CreateQueue",
                    "sqs:GetQueueUrl",
                    "sqs:GetQueueAttributes",
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                ],
                resources=[queue_arn(self, config.queue_prefix)],
            )
        )
        # Tasks are created (queues and their alarms) through the API; the run_job function
        # deletes them (infra/jobs.py).
        self.handler.add_to_role_policy(alarm_statement(self, config.alarm_prefix, ALARM_PUT))
        pipeline.state_machine.grant_start_execution(self.handler)
        # Before starting run n, the API checks that run n-1's execution is not still running
        # (autolabel.aws.executions); scoped to this machine's executions.
        pipeline.state_machine.grant_execution(self.handler, "states:DescribeExecution")
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
            # SRP for people's scripts; ADMIN_USER_PASSWORD_AUTH needs AWS credentials allowed
            # cognito-idp:AdminInitiateAuth (the deployer's: `make smoke-aws` signs in with it).
            auth_flows=cognito.AuthFlow(user_srp=True, admin_user_password=True),
            generate_secret=False,  # browsers and scripts cannot keep a secret
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            # Scripts sign in with SRP; without this CDK would enable the implicit and code grants
            # with an example.com callback on this client, reachable once the pool has a domain.
            disable_o_auth=True,
        )
        self.sign_in_domain: cognito.UserPoolDomain | None = None
        self.web_client: cognito.UserPoolClient | None = None
        clients = [self.client]
        cors = None
        if site is not None:
            self.sign_in_domain = self.user_pool.add_domain(
                "SignIn", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=sign_in_domain_prefix(config))
            )
            self.web_client = self.user_pool.add_client(
                "Web",
                # A browser cannot keep a secret; a public client uses PKCE with the code grant.
                generate_secret=False,
                o_auth=cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(authorization_code_grant=True),
                    scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
                    callback_urls=[site.url],
                    logout_urls=[site.url],
                ),
                supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
                prevent_user_existence_errors=True,
                id_token_validity=Duration.hours(1),
                access_token_validity=Duration.hours(1),
                refresh_token_validity=Duration.hours(12),  # a working day, then sign in again
                enable_token_revocation=True,
            )
            # Cognito's default for a client without explicit flows also allows SRP and custom auth;
            # this one signs in through the hosted UI only and just refreshes its tokens.
            cfn_web_client = self.web_client.node.default_child
            assert isinstance(cfn_web_client, cognito.CfnUserPoolClient)
            cfn_web_client.explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]
            clients.append(self.web_client)
            cors = apigw.CorsPreflightOptions(
                allow_origins=[site.origin],
                allow_methods=[apigw.CorsHttpMethod(m.value) for m in METHODS],
                allow_headers=["authorization", "content-type"],
                max_age=Duration.hours(1),
            )
        self.http_api = apigw.HttpApi(
            self,
            "Http",
            description="autolabel HTTP API",
            # The ID token carries cognito:username and cognito:groups, which the core reads;
            # its audience is the client that signed the user in (scripts or the web app).
            default_authorizer=authorizers.HttpUserPoolAuthorizer("Cognito", self.user_pool, user_pool_clients=clients),
            cors_preflight=cors,
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
        self.http_api.add_routes(path="/{proxy+}", methods=METHODS, integration=integration)

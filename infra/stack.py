"""The stack: storage, pipeline, review, the web app's site, api, the site's deployment, monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.acknowledgements import acknowledge
from infra.api import Api
from infra.config import Config
from infra.jobs import Jobs
from infra.monitoring import Alerts, Monitoring
from infra.pipeline import Pipeline
from infra.review import Review
from infra.storage import Storage
from infra.web import Site, SiteDeployment


class AutolabelStack(Stack):
    def __init__(self, scope: Construct, id: str, config: Config, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.storage = Storage(self, "Storage", config)
        self.alerts = Alerts(self, "Alerts")
        self.pipeline = Pipeline(self, "Pipeline", config, self.storage, self.alerts)
        self.review = Review(self, "Review", config, self.storage, self.pipeline)
        self.jobs = Jobs(self, "Jobs", config, self.storage, self.pipeline)
        # Order matters only for readability; CloudFormation orders by references: site, then the
        # API and the web client that name the site's URL, then the deployment naming them all.
        self.site = Site(self, "Site", config, self.storage) if config.web else None
        self.api = Api(self, "Api", config, self.storage, self.pipeline, self.site)
        self.jobs.grant_submit(self.api.handler)
        self.site_deployment: SiteDeployment | None = None
        if self.site is not None:
            assert self.api.sign_in_domain is not None and self.api.web_client is not None
            self.site_deployment = SiteDeployment(
                self,
                "SiteDeployment",
                self.site,
                api_base=self.api.http_api.api_endpoint,
                sign_in_domain=self.api.sign_in_domain.base_url(),
                client_id=self.api.web_client.user_pool_client_id,
            )
        functions = [
            self.pipeline.start,
            self.pipeline.infer,
            self.pipeline.finalize,
            self.review.label,
            self.jobs.function,
            self.api.handler,
        ]
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config,
            self.pipeline.state_machine,
            functions,
            [self.review.uploads_dlq, self.jobs.dlq],
            self.alerts,
        )
        acknowledge(self)
        CfnOutput(self, "Bucket", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "Table", value=self.storage.table.table_name)
        CfnOutput(self, "StateMachine", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "JobsQueue", value=self.jobs.queue.queue_url)
        CfnOutput(self, "ApiUrl", value=self.api.http_api.api_endpoint)
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        CfnOutput(
            self,
            "AlarmTopic",
            value=self.alerts.topic.topic_arn,
            description="Every alarm notifies this SNS topic; subscribe to it (e-mail, chat, pager)",
        )
        CfnOutput(self, "UserPoolClientId", value=self.api.client.user_pool_client_id)
        if self.site is not None and self.api.sign_in_domain is not None and self.api.web_client is not None:
            CfnOutput(self, "SiteUrl", value=self.site.url, description="The web app; sign in there")
            CfnOutput(self, "SignInDomain", value=self.api.sign_in_domain.base_url(), description="Cognito hosted UI")
            CfnOutput(self, "WebClientId", value=self.api.web_client.user_pool_client_id)

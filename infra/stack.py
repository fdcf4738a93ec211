"""The stack: storage, pipeline, review, api, monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.acknowledgements import acknowledge
from infra.api import Api
from infra.config import Config
from infra.monitoring import Monitoring
from infra.pipeline import Pipeline
from infra.review import Review
from infra.storage import Storage


class AutolabelStack(Stack):
    def __init__(self, scope: Construct, id: str, config: Config, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.storage = Storage(self, "Storage", config)
        self.pipeline = Pipeline(self, "Pipeline", config, self.storage)
        self.review = Review(self, "Review", config, self.storage, self.pipeline)
        self.api = Api(self, "Api", config, self.storage, self.pipeline)
        functions = [
            self.pipeline.start,
            self.pipeline.infer,
            self.pipeline.finalize,
            self.review.label,
            self.api.handler,
        ]
        self.monitoring = Monitoring(
            self, "Monitoring", config, self.pipeline.state_machine, functions, [self.review.uploads_dlq]
        )
        acknowledge(self)
        CfnOutput(self, "Bucket", value=self.storage.bucket.bucket_name)
        CfnOutput(self, "Table", value=self.storage.table.table_name)
        CfnOutput(self, "StateMachine", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "ApiUrl", value=self.api.http_api.api_endpoint)
        CfnOutput(self, "UserPoolId", value=self.api.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.api.client.user_pool_client_id)

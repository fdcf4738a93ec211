"""Storage: the data bucket (inputs, models, manifests, exports), its access-log bucket, the
records table and the idempotency table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from autolabel.aws.records import INDEX_ATTRIBUTES
from infra.acknowledgements import ack
from infra.config import Config


class Storage(Construct):
    def __init__(self, scope: Construct, id: str, config: Config) -> None:
        super().__init__(scope, id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=removal,
            auto_delete_objects=not config.retain_data,
        )
        ack(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the data bucket; logging it into itself would loop.",
        )
        self.bucket = s3.Bucket(
            self,
            "Data",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            event_bridge_enabled=True,  # uploads reach the label_upload function via EventBridge
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="data/",
            lifecycle_rules=[
                # Run manifests are temporary: a run reads its manifest within its lifetime.
                s3.LifecycleRule(id="manifests", prefix="runs/", expiration=Duration.days(7)),
                s3.LifecycleRule(id="exports", prefix="exports/", expiration=Duration.days(30)),
                # Labelled uploads live on in the dataset; the originals are not needed for long.
                s3.LifecycleRule(
                    id="uploads", prefix=config.upload_prefix, expiration=Duration.days(config.upload_expiry_days)
                ),
                s3.LifecycleRule(id="old-versions", noncurrent_version_expiration=Duration.days(30)),
                s3.LifecycleRule(id="multipart", abort_incomplete_multipart_upload_after=Duration.days(1)),
            ],
            cors=[
                # Reviewers' browsers fetch images with presigned GETs.
                s3.CorsRule(allowed_methods=[s3.HttpMethods.GET], allowed_origins=["*"], max_age=3000)
            ],
            removal_policy=removal,
            auto_delete_objects=not config.retain_data,
        )
        # The single-table design of docs/ARCHITECTURE.md (autolabel.aws.records.create_table).
        self.table = dynamodb.Table(
            self,
            "Records",
            partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="SK", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=config.retain_data,
            removal_policy=removal,
        )
        for index in ("GSI1", "GSI2"):
            self.table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=f"{index}PK", type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=f"{index}SK", type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.INCLUDE,
                non_key_attributes=list(INDEX_ATTRIBUTES),
            )
        self.idempotency = dynamodb.Table(
            self,
            "Idempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiration",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.DESTROY,  # only in-flight request records; safe to lose
        )

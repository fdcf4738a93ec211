"""The review web app on AWS: a private S3 bucket behind CloudFront (Origin Access Control only),
and the deployment of the built app plus the `config.json` that tells it where the API and the
Cognito hosted UI are.

Dependencies run one way so CloudFormation has no cycle: the distribution depends on nothing of
the API or the user pool; the API (CORS, authorizer) and the web app client depend on the
distribution's URL; the deployment depends on all of them."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as deployment
from constructs import Construct

from infra.config import Config
from infra.storage import Storage

SCOPES = ["openid", "email", "profile"]
HASHED_ASSETS = "assets/*"  # the bundler's output: names carry a content hash, so they never change


class WebAppNotBuilt(RuntimeError):
    pass


def require_built(web_dir: Path) -> None:
    if not (web_dir / "index.html").is_file():
        raise WebAppNotBuilt(
            f"The web app is not built: {web_dir / 'index.html'} is missing. Run `make web` first "
            "(it builds web/ into src/autolabel/web/static), point `-c web_dir=<folder>` at a build, "
            "or deploy without the site: `-c web=false`."
        )


def sign_in_domain_prefix(config: Config) -> str:
    """The Cognito prefix domain (`<prefix>.auth.<region>.amazoncognito.com`). Prefixes are global
    per region, so the default carries the account id; it is known before the user pool exists,
    which lets the site's CSP name it without depending on the pool."""
    prefix = config.sign_in_domain_prefix
    if not prefix:
        return f"autolabel-{Aws.ACCOUNT_ID}"
    # Cognito's rules, checked here so a bad value fails synth rather than the deployment.
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", prefix) or re.search("aws|amazon|cognito", prefix):
        raise ValueError(
            f"sign_in_domain_prefix {prefix!r}: use 1-63 lowercase letters, digits and inner hyphens, "
            "without 'aws', 'amazon' or 'cognito' (Cognito reserves them)"
        )
    return prefix


def content_security_policy(config: Config) -> str:
    # connect-src cannot name this stack's API id: the API's CORS names the distribution, so the
    # distribution (and its headers policy) naming the API would be a dependency cycle. Any
    # execute-api host of this region is the narrowest name known before the API exists.
    api_hosts = f"https://*.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"
    sign_in = f"https://{sign_in_domain_prefix(config)}.auth.{Aws.REGION}.amazoncognito.com"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            # Input images are presigned S3 GETs: virtual-hosted names of this region's S3 (a
            # bucket name here would tie the headers policy to the storage stack's resources).
            f"img-src 'self' data: blob: https://*.s3.{Aws.URL_SUFFIX} https://*.s3.{Aws.REGION}.{Aws.URL_SUFFIX}",
            f"connect-src 'self' {api_hosts} {sign_in}",  # the API, and the token endpoint of the hosted UI
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class Site(Construct):
    """The private bucket, its CloudFront distribution and the security headers it sends."""

    def __init__(self, scope: Construct, id: str, config: Config, storage: Storage) -> None:
        super().__init__(scope, id)
        self.web_dir = Path(config.web_dir)
        require_built(self.web_dir)  # before anything is built: a clear error, not a half stack
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            server_access_logs_bucket=storage.access_logs,
            server_access_logs_prefix="site/",
            # Only build output lives here, redeployed by every `cdk deploy`: nothing to keep.
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
        )
        # CloudFront is global: its policy and OAC names are unique per account, so they carry
        # the region and the stack name (CDK's default names would collide between regions).
        global_name = f"{Aws.STACK_NAME}-{Aws.REGION}"
        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            response_headers_policy_name=f"{global_name}-site-headers",
            comment="autolabel web app: security headers",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy(config), override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                # The sign-in redirect lands on a URL carrying the authorization code: send it nowhere.
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(730), include_subdomains=True, override=True
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy",
                        value="camera=(), microphone=(), geolocation=(), payment=(), usb=()",
                        override=True,
                    ),
                    cloudfront.ResponseCustomHeader(
                        header="Cross-Origin-Opener-Policy", value="same-origin", override=True
                    ),
                ]
            ),
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="autolabel web app",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    self.bucket,
                    origin_access_control=cloudfront.S3OriginAccessControl(
                        self, "OriginAccess", origin_access_control_name=f"{global_name}-site"
                    ),
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            # The app routes with the URL's hash (#/tasks), so every page is index.html: no
            # error-page rewrites that would also turn a missing script into a 200 HTML page.
            default_root_object="index.html",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=storage.access_logs,
            log_file_prefix="cloudfront/",
        )
        self.url = f"https://{self.distribution.distribution_domain_name}/"
        self.origin = f"https://{self.distribution.distribution_domain_name}"


class SiteDeployment(Construct):
    """Uploads the built app and writes `config.json` next to it; runs after the site, the API,
    the sign-in domain and the web client exist, since config.json names them."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        site: Site,
        *,
        api_base: str,
        sign_in_domain: str,
        client_id: str,
    ) -> None:
        super().__init__(scope, id)
        # One role and log group for CDK's deployment function instead of the managed
        # AWSLambdaBasicExecutionRole (logs:* everywhere); BucketDeployment adds its S3 grants.
        log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        self.config = {
            "apiBase": api_base,
            "auth": {
                "kind": "cognito",
                "domain": sign_in_domain,
                "clientId": client_id,
                "redirectUri": site.url,
                "scopes": SCOPES,
            },
        }
        app = deployment.Source.asset(str(site.web_dir))
        # Hashed bundles first, cached for a year; kept across deployments (no prune) so a tab
        # still running the previous index.html can load the scripts it names.
        self.assets = deployment.BucketDeployment(
            self,
            "Assets",
            sources=[app],
            destination_bucket=site.bucket,
            exclude=["*"],
            include=[HASHED_ASSETS],
            prune=False,
            cache_control=[deployment.CacheControl.from_string("public, max-age=31536000, immutable")],
            role=self.role,
            log_group=log_group,
        )
        # Then the entry points: index.html, config.json and any other unhashed file, which
        # browsers revalidate on every load and CloudFront drops from its caches on each deploy.
        # Filters also apply to pruning, so this leaves assets/ alone.
        self.entry = deployment.BucketDeployment(
            self,
            "Entry",
            sources=[app, deployment.Source.json_data("config.json", self.config)],
            destination_bucket=site.bucket,
            exclude=[HASHED_ASSETS],
            cache_control=[deployment.CacheControl.no_cache()],
            distribution=site.distribution,
            distribution_paths=["/*"],
            role=self.role,
            log_group=log_group,
        )
        self.entry.node.add_dependency(self.assets)

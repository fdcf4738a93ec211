"""The web app on AWS: private bucket behind CloudFront (OAC), security headers, the Cognito web
client and hosted-UI domain, the API's CORS and authorizer, config.json, and no dependency cycle."""

from __future__ import annotations

import json
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.config import ROOT
from tests.infra.conftest import Synthesized

SCOPES = ["openid", "email", "profile"]


def render(value: Any) -> Any:
    """Tokens as readable text: {"Ref": X} → <X>, {"Fn::GetAtt": [X, A]} → <X.A>, joins concatenated."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if key == "Fn::Join":
            return arg[0].join(str(render(p)) for p in arg[1])
        if key == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([^}]+)\}", r"<\1>", arg)
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    return value


def references(value: Any) -> set[str]:
    """Logical ids a template value points at (Ref, GetAtt, ${…} in Sub); pseudo parameters aside."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str) and not arg.startswith("AWS::"):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text) if not m.startswith("AWS::")}
                found |= references(arg[1] if isinstance(arg, list) else {})
            else:
                found |= references(arg)
    elif isinstance(value, list):
        for v in value:
            found |= references(v)
    return found


def dependency_graph(template: dict[str, Any]) -> dict[str, set[str]]:
    """What CloudFormation orders by: each resource's references and DependsOn."""
    resources = template["Resources"]
    graph: dict[str, set[str]] = {}
    for name, resource in resources.items():
        depends = resource.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else depends
        graph[name] = (references(resource.get("Properties", {})) | set(depends)) & set(resources)
    return graph


def closure(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def ids(synthesized: Synthesized) -> dict[str, str]:
    stack = synthesized.stack
    return {
        "bucket": synthesized.logical_id(stack.site.bucket),
        "distribution": synthesized.logical_id(stack.site.distribution),
        "api": synthesized.logical_id(stack.api.http_api),
        "pool": synthesized.logical_id(stack.api.user_pool),
        "domain": synthesized.logical_id(stack.api.sign_in_domain),
        "web_client": synthesized.logical_id(stack.api.web_client),
        "scripts_client": synthesized.logical_id(stack.api.client),
        "access_logs": synthesized.logical_id(stack.storage.access_logs),
        # A BucketDeployment's resource is its custom resource's.
        "assets": synthesized.logical_id(stack.site_deployment.assets.node.find_child("CustomResource")),
        "entry": synthesized.logical_id(stack.site_deployment.entry.node.find_child("CustomResource")),
    }


def properties(synthesized: Synthesized, logical_id: str) -> dict[str, Any]:
    return dict(synthesized.template["Resources"][logical_id]["Properties"])


def test_site_bucket_is_private_and_only_cloudfront_reads_it(synthesized: Synthesized) -> None:
    n = ids(synthesized)
    template = Template.from_json(synthesized.template)
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "BucketEncryption": Match.object_like({"ServerSideEncryptionConfiguration": Match.any_value()}),
            "LoggingConfiguration": {"DestinationBucketName": {"Ref": n["access_logs"]}, "LogFilePrefix": "site/"},
        },
    )
    assert "WebsiteConfiguration" not in properties(synthesized, n["bucket"])  # no public website endpoint
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synthesized.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": n["bucket"]}
    ]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)
    (reads,) = [s for s in policy if s["Effect"] == "Allow" and s["Action"] == "s3:GetObject"]
    assert reads["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert render(reads["Condition"]["StringEquals"]["AWS:SourceArn"]) == (
        f"arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<{n['distribution']}>"
    )
    for statement in policy:  # nothing else is granted to anyone but CDK's deploy-time cleaner
        if statement["Effect"] == "Allow" and statement is not reads:
            assert "AutoDeleteObjects" in json.dumps(statement["Principal"]), statement
    (oac,) = synthesized.resources("AWS::CloudFront::OriginAccessControl").values()
    assert render(oac["Properties"]["OriginAccessControlConfig"]) == {
        "Name": "<AWS::StackName>-<AWS::Region>-site",  # account-wide names: one per stack and region
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    assert not synthesized.resources("AWS::CloudFront::CloudFrontOriginAccessIdentity")


def test_distribution_serves_the_app_over_https_with_security_headers(synthesized: Synthesized) -> None:
    n = ids(synthesized)
    config = properties(synthesized, n["distribution"])["DistributionConfig"]
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["Logging"]["Prefix"] == "cloudfront/"
    assert render(config["Logging"]["Bucket"]) == f"<{n['access_logs']}.RegionalDomainName>"
    (origin,) = config["Origins"]
    assert render(origin["DomainName"]) == f"<{n['bucket']}.RegionalDomainName>"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""} and "OriginAccessControlId" in origin
    headers_id = behavior["ResponseHeadersPolicyId"]["Ref"]
    policy = properties(synthesized, headers_id)["ResponseHeadersPolicyConfig"]
    assert render(policy["Name"]) == "<AWS::StackName>-<AWS::Region>-site-headers"
    security = policy["SecurityHeadersConfig"]
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ContentTypeOptions"]["Override"] is True
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    csp = dict(
        d.strip().split(" ", 1) for d in render(security["ContentSecurityPolicy"]["ContentSecurityPolicy"]).split(";")
    )
    assert csp["default-src"] == csp["script-src"] == csp["style-src"] == "'self'"  # nothing inline, no CDN
    assert csp["frame-ancestors"] == csp["object-src"] == "'none'"
    assert csp["img-src"].split() == [
        "'self'",
        "data:",
        "blob:",
        "https://*.s3.<AWS::URLSuffix>",
        "https://*.s3.<AWS::Region>.<AWS::URLSuffix>",
    ]
    # The API (any of this region's execute-api hosts: naming this API's id would be a cycle)
    # and exactly the stack's hosted-UI domain.
    domain = render(properties(synthesized, n["domain"])["Domain"])
    assert csp["connect-src"].split() == [
        "'self'",
        "https://*.execute-api.<AWS::Region>.<AWS::URLSuffix>",
        f"https://{domain}.auth.<AWS::Region>.amazoncognito.com",
    ]
    assert domain == "autolabel-<AWS::AccountId>"


def test_web_client_uses_the_code_grant_with_the_site_as_callback(synthesized: Synthesized) -> None:
    n = ids(synthesized)
    site_url = f"https://<{n['distribution']}.DomainName>/"
    client = properties(synthesized, n["web_client"])
    assert client["GenerateSecret"] is False  # a public client: PKCE, no secret
    assert client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthFlows"] == ["code"]  # no implicit grant
    assert client["AllowedOAuthScopes"] == SCOPES
    assert render(client["CallbackURLs"]) == [site_url] and render(client["LogoutURLs"]) == [site_url]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # no SRP/password calls from the page
    assert properties(synthesized, n["domain"])["UserPoolId"] == {"Ref": n["pool"]}
    assert "CustomDomainConfig" not in properties(synthesized, n["domain"])  # a Cognito prefix domain


def test_authorizer_accepts_tokens_of_both_clients(synthesized: Synthesized) -> None:
    n = ids(synthesized)
    (authorizer,) = synthesized.resources("AWS::ApiGatewayV2::Authorizer").values()
    audience = authorizer["Properties"]["JwtConfiguration"]["Audience"]
    assert sorted(audience, key=str) == sorted([{"Ref": n["scripts_client"]}, {"Ref": n["web_client"]}], key=str)


def test_cors_lets_only_the_site_call_the_methods_the_api_serves(synthesized: Synthesized) -> None:
    n = ids(synthesized)
    cors = properties(synthesized, n["api"])["CorsConfiguration"]
    assert render(cors["AllowOrigins"]) == [f"https://<{n['distribution']}.DomainName>"]
    openapi = json.loads((ROOT / "docs" / "openapi.json").read_text())
    served = {method.upper() for path in openapi["paths"].values() for method in path}
    assert set(cors["AllowMethods"]) == served
    assert sorted(cors["AllowHeaders"]) == ["authorization", "content-type"]
    assert not cors.get("AllowCredentials")  # bearer tokens, no cookies
    # One route per served method: an ANY route would catch the unauthenticated preflight
    # (OPTIONS) with the JWT authorizer; with no OPTIONS route API Gateway answers it itself.
    keys = {r["Properties"]["RouteKey"] for r in synthesized.resources("AWS::ApiGatewayV2::Route").values()}
    assert keys == {"GET /health"} | {f"{m} /{{proxy+}}" for m in served}


def test_deployment_uploads_the_build_and_a_config_json_naming_the_stack(synthesized: Synthesized) -> None:
    n = ids(synthesized)
    assets, entry = properties(synthesized, n["assets"]), properties(synthesized, n["entry"])
    assert (assets["Exclude"], assets["Include"], assets["Prune"]) == (["*"], ["assets/*"], False)
    assert "immutable" in assets["SystemMetadata"]["cache-control"]
    assert (entry["Exclude"], entry["Prune"]) == (["assets/*"], True)
    assert entry["SystemMetadata"]["cache-control"] == "no-cache"
    assert entry["DistributionId"] == {"Ref": n["distribution"]} and entry["DistributionPaths"] == ["/*"]
    assert n["assets"] in synthesized.template["Resources"][n["entry"]]["DependsOn"]  # scripts before the page
    build_key, config_key = entry["SourceObjectKeys"]
    assert build_key == assets["SourceObjectKeys"][0]

    def staged(key: str) -> Path:
        return synthesized.outdir / f"asset.{key.removesuffix('.zip')}"

    built = Path(synthesized.config.web_dir)
    assert sorted(p.relative_to(staged(build_key)) for p in staged(build_key).rglob("*.*")) == sorted(
        p.relative_to(built) for p in built.rglob("*.*")
    )
    text = (staged(config_key) / "config.json").read_text()
    for marker, value in entry["SourceMarkers"][1].items():  # what the deployment substitutes at deploy time
        text = text.replace(marker, render(value))
    assert json.loads(text) == {
        "apiBase": f"<{n['api']}.ApiEndpoint>",
        "auth": {
            "kind": "cognito",
            "domain": f"https://<{n['domain']}>.auth.<AWS::Region>.amazoncognito.com",
            "clientId": f"<{n['web_client']}>",
            "redirectUri": f"https://<{n['distribution']}.DomainName>/",
            "scopes": SCOPES,
        },
    }


def test_outputs_name_the_site_the_hosted_ui_and_the_web_client(synthesized: Synthesized) -> None:
    n = ids(synthesized)
    outputs = {k: render(v["Value"]) for k, v in synthesized.template["Outputs"].items()}
    assert outputs["SiteUrl"] == f"https://<{n['distribution']}.DomainName>/"
    assert outputs["SignInDomain"] == f"https://<{n['domain']}>.auth.<AWS::Region>.amazoncognito.com"
    assert outputs["WebClientId"] == f"<{n['web_client']}>"


def test_dependencies_run_one_way_without_a_cycle(synthesized: Synthesized) -> None:
    # `cdk synth` does not look for cycles inside a stack; CloudFormation refuses them at deploy.
    with pytest.raises(CycleError):  # the check below can fail
        tuple(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())
    graph = dependency_graph(synthesized.template)
    tuple(TopologicalSorter(graph).static_order())
    n = ids(synthesized)
    assert not {n["api"], n["pool"], n["web_client"], n["domain"]} & closure(graph, n["distribution"])
    assert n["distribution"] in closure(graph, n["api"])  # CORS
    assert n["distribution"] in closure(graph, n["web_client"])  # callback URL
    assert {n["api"], n["domain"], n["web_client"], n["distribution"], n["bucket"]} <= closure(graph, n["entry"])


def test_a_missing_build_fails_synth_with_what_to_run(tmp_path: Path, synthesized: Synthesized) -> None:
    from aws_cdk import App

    from infra.config import Config
    from infra.stack import AutolabelStack
    from infra.web import WebAppNotBuilt

    config = Config(layers_dir=synthesized.config.layers_dir, web_dir=str(tmp_path / "static"))
    with pytest.raises(WebAppNotBuilt, match=r"index\.html is missing\. Run `make web`.*-c web=false"):
        AutolabelStack(App(), "Autolabel", config)


def test_the_site_can_be_left_out(synthesized: Synthesized) -> None:
    from aws_cdk import App

    from infra.config import Config
    from infra.stack import AutolabelStack

    config = Config(layers_dir=synthesized.config.layers_dir, web=False, web_dir="/nonexistent")
    template = Template.from_stack(AutolabelStack(App(), "Autolabel", config)).to_json()
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert not kinds & {"AWS::CloudFront::Distribution", "AWS::Cognito::UserPoolDomain", "Custom::CDKBucketDeployment"}
    assert [r["Type"] for r in template["Resources"].values()].count("AWS::Cognito::UserPoolClient") == 1
    (api,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    assert "CorsConfiguration" not in api
    assert not {"SiteUrl", "SignInDomain", "WebClientId"} & set(template["Outputs"])


def test_a_chosen_sign_in_prefix_is_used_and_checked() -> None:
    from infra.config import Config
    from infra.web import content_security_policy, sign_in_domain_prefix

    config = Config.from_context({"sign_in_domain_prefix": "acme-labels", "web": "false", "web_dir": "/x"}.get)
    assert (config.web, config.web_dir) == (False, "/x")
    assert sign_in_domain_prefix(config) == "acme-labels"
    assert "https://acme-labels.auth." in content_security_policy(config)
    for bad in ("Acme", "-acme", "acme-", "my-aws-labels", "cognito-login", "a" * 64, "acme_labels"):
        with pytest.raises(ValueError, match="sign_in_domain_prefix"):
            sign_in_domain_prefix(Config(sign_in_domain_prefix=bad))

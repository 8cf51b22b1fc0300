"""Server-side rules of AWS that the API models do not encode, each with its source.

A rule sees one request's parameters (already valid against the model) and, when it must, the
state moto holds, read through moto's own API. It answers None, or what AWS would say.
`RULES` is the table docs/testing.md lists; the layer's tests hold a refused request per rule.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Callable

import boto3
from botocore.config import Config

from .model import Violation


@dataclass
class Context:
    service: str
    operation: str
    params: dict
    region: str
    access_key: str
    upstream: str
    _clients: dict = field(default_factory=dict)

    def client(self, service: str):
        """A client of moto itself (behind this layer), for rules that read state."""
        if service not in self._clients:
            self._clients[service] = _client(self.upstream, service, self.region, self.access_key)
        return self._clients[service]


@functools.lru_cache(maxsize=64)
def _client(upstream: str, service: str, region: str, access_key: str):
    return boto3.client(
        service,
        endpoint_url=upstream,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


@dataclass
class Rule:
    id: str
    service: str
    operations: tuple
    summary: str
    source: str
    # The error AWS answers with.
    code: str
    check: Callable[[Context], str | None]
    # Reads moto's state: checked and forwarded as one step.
    stateful: bool = False
    status: int = 400
    # A refusal a correct client meets when the state is not what it read (a compare-and-swap
    # losing a race, a lock that is taken): the report does not count it against the run.
    conflict: bool = False


RULES: list[Rule] = []


def rule(id, service, operations, summary, source, code, stateful=False, status=400, conflict=False):
    def register(check):
        RULES.append(Rule(id, service, tuple(operations), summary, source, code, check, stateful, status, conflict))
        return check

    return register


def check(ctx: Context) -> list[Violation]:
    found = []
    for r in RULES:
        if r.service == ctx.service and ctx.operation in r.operations:
            message = r.check(ctx)
            if message:
                code = getattr(message, "code", r.code)
                found.append(Violation(rule=r.id, message=str(message), source=r.source, code=code, status=r.status, conflict=r.conflict))
                break  # AWS answers the first problem it finds
    return found


def reads_state(service: str, operation: str) -> bool:
    return any(r.stateful and r.service == service and operation in r.operations for r in RULES)


# --- EKS ---------------------------------------------------------------------------------------

EKS_TOKEN_OPS = (
    "CreateCluster",
    "CreateNodegroup",
    "CreateAccessEntry",
    "CreateAddon",
    "CreatePodIdentityAssociation",
    "UpdateNodegroupConfig",
    "UpdateNodegroupVersion",
    "UpdateClusterConfig",
    "UpdateClusterVersion",
    "AssociateAccessPolicy",
)


@rule(
    "eks.request-token-length",
    "eks",
    EKS_TOKEN_OPS,
    "clientRequestToken, when given, has 33 to 126 characters (seen on CreateCluster; assumed for "
    "the other calls that take one)",
    "https://github.com/ansible-collections/community.aws/pull/844 (AWS's answer quoted) and "
    "https://github.com/ansible-collections/community.aws/issues/817",
    "InvalidParameterException",
)
def _eks_token(ctx: Context):
    token = ctx.params.get("clientRequestToken")
    if token is not None and not 33 <= len(token) <= 126:
        return "The client request token parameter must be between 33 and 126 characters."
    return None


CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]*$")


@rule(
    "eks.cluster-name",
    "eks",
    ("DescribeCluster", "DeleteCluster", "ListNodegroups", "DescribeNodegroup", "CreateNodegroup",
     "DeleteNodegroup", "UpdateNodegroupConfig", "UpdateNodegroupVersion", "CreateAccessEntry",
     "AssociateAccessPolicy", "CreateAddon", "DescribeAddon", "ListAddons",
     "CreatePodIdentityAssociation", "UpdateClusterConfig", "UpdateClusterVersion"),
    "a cluster name in the path starts with a letter or digit and has letters, digits, '-' and "
    "'_' only, at most 100 characters (the model encodes it for CreateCluster only)",
    "https://docs.aws.amazon.com/eks/latest/userguide/create-cluster.html; the server's message in "
    "https://github.com/surajincloud/kubectl-eks/issues/72",
    "InvalidParameterException",
)
def _eks_cluster_name(ctx: Context):
    name = ctx.params.get("clusterName", ctx.params.get("name"))
    if name is None or (CLUSTER_NAME.match(name) and len(name) <= 100):
        return None
    return (
        "The clusterName parameter contains invalid characters. It should conform to the regular "
        'expression "^[0-9A-Za-z][A-Za-z0-9-_]*"'
    )


@rule(
    "eks.nodegroup-name",
    "eks",
    ("CreateNodegroup",),
    "a nodegroup name has at most 63 characters, starts with a letter or digit, then letters, "
    "digits, '-' and '_'",
    "https://docs.aws.amazon.com/eks/latest/userguide/create-managed-node-group.html; the server's "
    "message in https://github.com/terraform-aws-modules/terraform-aws-eks/issues/1713",
    "InvalidParameterException",
)
def _eks_nodegroup_name(ctx: Context):
    name = ctx.params.get("nodegroupName", "")
    if len(name) > 63:
        return "nodeGroupName can't be longer than 63 characters!"
    if not CLUSTER_NAME.match(name):
        return (
            "nodeGroupName must start with a letter or digit and contain only letters, digits, "
            "hyphens and underscores"
        )
    return None


@rule(
    "eks.subnets-two-azs",
    "eks",
    ("CreateCluster",),
    "the cluster's subnets are at least two, in at least two Availability Zones (checked against "
    "EC2 where the subnets exist there)",
    "https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html; the server's message in "
    "https://github.com/rancher/rancher/issues/24380",
    "InvalidParameterException",
    stateful=True,
)
def _eks_subnets(ctx: Context):
    subnets = ctx.params.get("resourcesVpcConfig", {}).get("subnetIds", [])
    message = "Subnets specified must be in at least two different AZs"
    if len(set(subnets)) < 2:
        return message
    try:
        found = ctx.client("ec2").describe_subnets(SubnetIds=subnets)["Subnets"]
    except Exception:  # subnets the emulator's EC2 does not know: only the count can be checked
        return None
    zones = {s["AvailabilityZone"] for s in found}
    return message if len(found) == len(set(subnets)) and len(zones) < 2 else None


@rule(
    "eks.security-groups-max",
    "eks",
    ("CreateCluster",),
    "at most five security groups (the exact message is not public; this one paraphrases the "
    "documentation)",
    "botocore's EKS model, CreateClusterRequest.resourcesVpcConfig: 'You can specify up to five "
    "security groups'",
    "InvalidParameterException",
)
def _eks_security_groups(ctx: Context):
    groups = ctx.params.get("resourcesVpcConfig", {}).get("securityGroupIds", [])
    return "You can specify up to five security groups" if len(groups) > 5 else None


def _reserved(text: str) -> bool:
    return text.lower().startswith("aws:")


@rule(
    "eks.tags-reserved-prefix",
    "eks",
    ("CreateCluster", "CreateNodegroup", "CreateAccessEntry", "CreateAddon",
     "CreatePodIdentityAssociation", "TagResource"),
    "no tag key or value starts with 'aws:' in any case (reserved for AWS; the exact message is "
    "not public)",
    "https://docs.aws.amazon.com/eks/latest/userguide/eks-using-tags.html (Tag restrictions)",
    "InvalidParameterException",
)
def _eks_reserved_tags(ctx: Context):
    for k, v in ctx.params.get("tags", {}).items():
        if _reserved(k) or _reserved(v or ""):
            return f"Tag '{k}' uses the prefix 'aws:', which is reserved for AWS use"
    return None


@rule(
    "eks.tags-per-resource",
    "eks",
    ("TagResource",),
    "a resource carries at most 50 tags, those it has and those added together",
    "https://docs.aws.amazon.com/eks/latest/userguide/eks-using-tags.html (Tag restrictions: "
    "maximum number of tags per resource, 50)",
    "InvalidParameterException",
    stateful=True,
)
def _eks_tags_per_resource(ctx: Context):
    arn = ctx.params.get("resourceArn", "")
    try:
        existing = ctx.client("eks").list_tags_for_resource(resourceArn=arn).get("tags", {})
    except Exception:
        return None  # moto answers the missing resource itself
    keys = set(existing) | set(ctx.params.get("tags", {}))
    counted = [k for k in keys if not _reserved(k)]
    return f"A resource can have at most 50 tags; this request makes {len(counted)}" if len(counted) > 50 else None


LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _label_key_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= 63 and bool(LABEL_NAME.match(name))


@rule(
    "eks.nodegroup-labels-taints",
    "eks",
    ("CreateNodegroup", "UpdateNodegroupConfig"),
    "nodegroup labels are Kubernetes labels (keys: optional DNS prefix and a name of at most 63 "
    "characters; values: at most 63, alphanumeric at both ends), and taint keys and values the "
    "same",
    "the server's message in https://github.com/aws-controllers-k8s/community/issues/2208; "
    "https://docs.aws.amazon.com/eks/latest/userguide/node-taints-managed-node-groups.html",
    "InvalidParameterException",
)
def _eks_labels(ctx: Context):
    labels = ctx.params.get("labels") or {}
    taints = ctx.params.get("taints") or []
    if ctx.operation == "UpdateNodegroupConfig":
        labels = labels.get("addOrUpdateLabels", {})
        taints = taints.get("addOrUpdateTaints", []) if isinstance(taints, dict) else []
    pairs = list(labels.items()) + [(t.get("key", ""), t.get("value") or "") for t in taints]
    for key, value in pairs:
        if not _label_key_ok(key):
            return f"Invalid key: {key} : name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        if len(value) > 63 or not LABEL_VALUE.match(value):
            return (
                f"Invalid value: {value} : field must consist of alphanumeric characters, '-', '_' or "
                "'.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
                "'my.name',  or '123-abc', regex used for validation is "
                "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            )
    return None


@rule(
    "eks.kubernetes-version-format",
    "eks",
    ("CreateCluster", "UpdateClusterVersion"),
    "a Kubernetes version is 'major.minor' (an unsupported or malformed one is refused alike)",
    "the server's message in https://github.com/rancher/rancher/issues/27777 and "
    "https://github.com/hashicorp/terraform-provider-aws/issues/21410",
    "InvalidParameterException",
)
def _eks_version(ctx: Context):
    version = ctx.params.get("version")
    if version is None or re.fullmatch(r"1\.[0-9]{1,3}", version):
        return None
    return f"unsupported Kubernetes version {version}"


# --- ECR ---------------------------------------------------------------------------------------

IMAGE_MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def _manifest(ctx: Context):
    try:
        return json.loads(ctx.params.get("imageManifest", ""))
    except ValueError:
        return None


@rule(
    "ecr.manifest-json",
    "ecr",
    ("PutImage",),
    "the manifest is JSON and names its media type (in the manifest or in imageManifestMediaType)",
    "botocore's ECR model, PutImageRequest.imageManifestMediaType; the server's message for bad "
    "JSON in https://github.com/oras-project/oras/issues/1133",
    "InvalidParameterException",
)
def _ecr_manifest_json(ctx: Context):
    m = _manifest(ctx)
    if not isinstance(m, dict):
        return "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
    if not m.get("mediaType") and not ctx.params.get("imageManifestMediaType"):
        return "Invalid parameter at 'imageManifestMediaType': the manifest has no mediaType and none was given"
    return None


@rule(
    "ecr.manifest-has-layers",
    "ecr",
    ("PutImage",),
    "an image manifest has at least one layer (an artifact with no content uses the OCI empty "
    "descriptor as its layer)",
    "https://github.com/werf/werf/pull/2558 (the server's message); no later AWS statement lifts it",
    "InvalidParameterException",
)
def _ecr_layers(ctx: Context):
    m = _manifest(ctx) or {}
    media = m.get("mediaType") or ctx.params.get("imageManifestMediaType")
    if media in IMAGE_MANIFEST_TYPES and not m.get("layers"):
        return "Image has to have at least 1 layer"
    return None


@rule(
    "ecr.manifest-blobs-exist",
    "ecr",
    ("PutImage",),
    "every blob an image manifest references (its config and layers) was uploaded to the "
    "repository first",
    "botocore's ECR model (PutImage raises LayersNotFoundException); the registry's message in "
    "https://github.com/oras-project/oras-py/issues/54",
    "LayersNotFoundException",
    stateful=True,
)
def _ecr_blobs(ctx: Context):
    m = _manifest(ctx) or {}
    media = m.get("mediaType") or ctx.params.get("imageManifestMediaType")
    if media not in IMAGE_MANIFEST_TYPES:
        return None
    digests = [d.get("digest", "") for d in [m.get("config", {})] + list(m.get("layers", []))]
    answer = ctx.client("ecr").batch_check_layer_availability(
        repositoryName=ctx.params["repositoryName"], layerDigests=sorted(set(digests))
    )
    missing = [f["layerDigest"] for f in answer.get("failures", [])]
    missing += [l["layerDigest"] for l in answer.get("layers", []) if l.get("layerAvailability") != "AVAILABLE"]
    if missing:
        return (
            f"Layers with digests '{missing}' required for pushing image into repository with name "
            f"'{ctx.params['repositoryName']}' do not exist"
        )
    return None


@rule(
    "ecr.image-tag-pattern",
    "ecr",
    ("PutImage",),
    "an image tag has letters, digits, '-', '_' and '.' only",
    "the server's message in https://github.com/alexjurkiewicz/ecr-scan-image/issues/40",
    "InvalidParameterException",
)
def _ecr_tag(ctx: Context):
    tag = ctx.params.get("imageTag")
    if tag is None or re.fullmatch(r"[a-zA-Z0-9\-_.]+", tag):
        return None
    return "Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression '[a-zA-Z0-9-_.]+''"


def _wildcard(pattern: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


@rule(
    "ecr.immutable-tags",
    "ecr",
    ("PutImage",),
    "in a repository with immutable tags (outside its exclusion filters), a tag that exists "
    "cannot be pushed again",
    "botocore's ECR model (ImageTagAlreadyExistsException: 'The specified image is tagged with a "
    "tag that already exists. The repository is configured for tag immutability.'); "
    "https://github.com/aws/containers-roadmap/issues/2179",
    "ImageTagAlreadyExistsException",
    stateful=True,
    conflict=True,
)
def _ecr_immutable(ctx: Context):
    tag, repo = ctx.params.get("imageTag"), ctx.params["repositoryName"]
    if tag is None:
        return None
    ecr = ctx.client("ecr")
    try:
        desc = ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
    except Exception:
        return None  # moto answers RepositoryNotFoundException itself
    mutability = desc.get("imageTagMutability", "MUTABLE")
    excluded = any(_wildcard(f["filter"]).match(tag) for f in desc.get("imageTagMutabilityExclusionFilters", []))
    immutable = (mutability == "IMMUTABLE") or (mutability == "IMMUTABLE_WITH_EXCLUSION" and not excluded) or (
        mutability == "MUTABLE_WITH_EXCLUSION" and excluded
    )
    if not immutable:
        return None
    try:
        ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        return None
    return (
        f"The image tag '{tag}' already exists in the '{repo}' repository and cannot be overwritten "
        "because the repository is immutable."
    )


# Bytes received per layer upload, so CompleteLayerUpload can be held to what AWS checks.
_UPLOADS: dict[str, bytearray] = {}


@rule(
    "ecr.layer-upload",
    "ecr",
    ("UploadLayerPart", "CompleteLayerUpload"),
    "a layer upload is completed only with parts (no empty blobs) and with the digest of the "
    "bytes uploaded",
    "botocore's ECR model (EmptyUploadException, InvalidLayerException); the server's message in "
    "https://github.com/devcontainers/cli/issues/814",
    "InvalidLayerException",
    stateful=True,
)
def _ecr_upload(ctx: Context):
    upload = ctx.params.get("uploadId", "")
    if ctx.operation == "UploadLayerPart":
        blob = ctx.params.get("layerPartBlob", b"")
        _UPLOADS.setdefault(upload, bytearray()).extend(blob if isinstance(blob, bytes) else blob.encode())
        return None
    data = _UPLOADS.pop(upload, None)
    if not data:
        return Refusal(
            "EmptyUploadException",
            f"The upload with id '{upload}' in the repository with name '{ctx.params['repositoryName']}' "
            "cannot be completed because it does not have any parts",
        )
    actual = "sha256:" + hashlib.sha256(bytes(data)).hexdigest()
    if ctx.params.get("layerDigests") != [actual]:
        return f"The layer digest {ctx.params.get('layerDigests')} does not match the uploaded content ({actual})"
    return None


@rule(
    "ecr.tags",
    "ecr",
    ("CreateRepository", "TagResource"),
    "at most 50 tags on a repository; no key or value starting with 'aws:'",
    "botocore's ECR model (TooManyTagsException, InvalidTagParameterException)",
    "InvalidTagParameterException",
)
def _ecr_tags(ctx: Context):
    tags = ctx.params.get("tags", [])
    if len(tags) > 50:
        return Refusal("TooManyTagsException", "The maximum number of tags that can be applied to a repository is 50.")
    for t in tags:
        if _reserved(t.get("Key", "")) or _reserved(t.get("Value", "")):
            return f"Tag '{t.get('Key')}' uses the reserved prefix 'aws:'"
    return None


# --- Route 53 ----------------------------------------------------------------------------------


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


def _key(rr: dict):
    return (_fqdn(rr["Name"]), rr["Type"], rr.get("SetIdentifier"))


def _describe_rr(rr: dict) -> str:
    text = f"[name='{_fqdn(rr['Name'])}', type='{rr['Type']}'"
    if rr.get("SetIdentifier"):
        text += f", set-identifier='{rr['SetIdentifier']}'"
    return text + "]"


def _values(rr: dict):
    """What a DELETE must repeat: TTL, the values in any order, alias target, routing."""
    alias = rr.get("AliasTarget")
    return (
        rr.get("TTL"),
        tuple(sorted(r["Value"] for r in rr.get("ResourceRecords", []))),
        (alias["HostedZoneId"], _fqdn(alias["DNSName"]), bool(alias.get("EvaluateTargetHealth"))) if alias else None,
        rr.get("Weight"),
        rr.get("Region"),
        rr.get("Failover"),
        rr.get("HealthCheckId"),
    )


ROUTING = ("Weight", "Region", "Failover", "GeoLocation", "MultiValueAnswer", "CidrRoutingConfig", "GeoProximityLocation")


def _zone_records(ctx: Context) -> tuple[str, list[dict]]:
    r53 = ctx.client("route53")
    zone_id = ctx.params["HostedZoneId"]
    zone = r53.get_hosted_zone(Id=zone_id)["HostedZone"]
    records = []
    for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        records += page["ResourceRecordSets"]
    return _fqdn(zone["Name"]), records


class Refusal(str):
    """A rule's answer with an error code other than the rule's own."""

    def __new__(cls, code: str, message: str):
        obj = super().__new__(cls, message)
        obj.code = code
        return obj


@rule(
    "route53.record-shape",
    "route53",
    ("ChangeResourceRecordSets",),
    "each change gives exactly one of AliasTarget or TTL with ResourceRecords; a SetIdentifier "
    "goes with a routing policy (Weight, ...) and a routing policy with a SetIdentifier",
    "botocore's Route 53 model (ResourceRecordSet.TTL, .SetIdentifier); the server's message in "
    "https://github.com/ansible-collections/community.aws/issues/545",
    "InvalidInput",
)
def _r53_shape(ctx: Context):
    for change in ctx.params["ChangeBatch"]["Changes"]:
        rr = change["ResourceRecordSet"]
        alias = "AliasTarget" in rr
        plain = "TTL" in rr and bool(rr.get("ResourceRecords"))
        where = (
            f"[Action={change['Action']}, Name={_fqdn(rr['Name'])}, Type={rr['Type']}, "
            f"SetIdentifier={rr.get('SetIdentifier', 'null')}]"
        )
        if alias and ("TTL" in rr or rr.get("ResourceRecords")):
            return f"Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in Change with {where}"
        if not alias and not plain and "TrafficPolicyInstanceId" not in rr:
            return f"Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with {where}"
        routed = any(k in rr for k in ROUTING)
        if routed != ("SetIdentifier" in rr):
            return f"Invalid request: a SetIdentifier needs a routing policy and a routing policy a SetIdentifier in Change with {where}"
    return None


@rule(
    "route53.change-batch",
    "route53",
    ("ChangeResourceRecordSets",),
    "a batch names no record twice, and carries at most 1000 record values (an UPSERT counts "
    "twice) and 32000 characters of values",
    "botocore's Route 53 model (ChangeResourceRecordSets: 'If you try to delete the same resource "
    "record set more than once in a single change batch, Route 53 returns an InvalidChangeBatch "
    "error'); https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DNSLimitations.html",
    "InvalidChangeBatch",
)
def _r53_batch(ctx: Context):
    changes = ctx.params["ChangeBatch"]["Changes"]
    count = sum(len(c["ResourceRecordSet"].get("ResourceRecords", [])) * (2 if c["Action"] == "UPSERT" else 1) for c in changes)
    if count > 1000:
        return "[Number of records limit of 1000 exceeded.]"
    chars = sum(len(r["Value"]) for c in changes for r in c["ResourceRecordSet"].get("ResourceRecords", []))
    if chars > 32000:
        return "[Number of characters in record values limit of 32000 exceeded.]"
    deletes = [_key(c["ResourceRecordSet"]) for c in changes if c["Action"] == "DELETE"]
    for key in deletes:
        if deletes.count(key) > 1:
            rr = next(c["ResourceRecordSet"] for c in changes if _key(c["ResourceRecordSet"]) == key)
            return f"[Tried to delete resource record set {_describe_rr(rr)} more than once in a single change batch]"
    return None


@rule(
    "route53.change-batch-state",
    "route53",
    ("ChangeResourceRecordSets",),
    "a batch applies whole, in order, against the zone as it is: a DELETE names a record that "
    "exists with exactly the values given, a CREATE one that does not exist (a compare-and-swap "
    "that lost a race meets this)",
    "botocore's Route 53 model (ChangeResourceRecordSets: 'Change batches are considered "
    "transactional changes'; 'To delete a resource record set, you must specify all the same "
    "values that you specified when you created it'); the server's messages in "
    "https://github.com/boto/boto/issues/2887 and https://github.com/barnybug/cli53/issues/317",
    "InvalidChangeBatch",
    stateful=True,
    conflict=True,
)
def _r53_batch_state(ctx: Context):
    _, records = _zone_records(ctx)
    zone = {_key(r): r for r in records}
    for change in ctx.params["ChangeBatch"]["Changes"]:
        rr = change["ResourceRecordSet"]
        key = _key(rr)
        if change["Action"] == "DELETE":
            current = zone.get(key)
            if current is None:
                return f"[Tried to delete resource record set {_describe_rr(rr)} but it was not found]"
            if _values(current) != _values(rr):
                return f"[Tried to delete resource record set {_describe_rr(rr)} but the values provided do not match the current values]"
            del zone[key]
        elif change["Action"] == "CREATE":
            if key in zone:
                return f"[Tried to create resource record set {_describe_rr(rr)} but it already exists]"
            zone[key] = rr
        else:
            zone[key] = rr
    return None


@rule(
    "route53.record-set-consistency",
    "route53",
    ("ChangeResourceRecordSets",),
    "after the batch: no CNAME at the zone apex, a CNAME has no other record of its name, records "
    "of one name and type all use the same routing policy, weighted ones the same TTL",
    "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#CNAMEFormat; "
    "the server's messages in https://github.com/aws/aws-sdk-java/issues/1996, "
    "https://github.com/kubernetes-sigs/external-dns/issues/1411 and "
    "https://github.com/aws/aws-sdk-go-v2/issues/518",
    "InvalidChangeBatch",
    stateful=True,
)
def _r53_consistency(ctx: Context):
    apex, records = _zone_records(ctx)
    zone = {_key(r): r for r in records}
    for change in ctx.params["ChangeBatch"]["Changes"]:
        rr = change["ResourceRecordSet"]
        if change["Action"] == "DELETE":
            zone.pop(_key(rr), None)
        else:
            zone[_key(rr)] = rr
    for change in ctx.params["ChangeBatch"]["Changes"]:
        if change["Action"] == "DELETE":
            continue
        rr = change["ResourceRecordSet"]
        name, rtype = _fqdn(rr["Name"]), rr["Type"]
        if rtype == "CNAME" and name == apex:
            return f"[RRSet of type CNAME with DNS name {name} is not permitted at apex in zone {apex}]"
        same_name = [r for k, r in zone.items() if k[0] == name]
        others = {r["Type"] for r in same_name} - {"CNAME"}
        if rtype == "CNAME" and others or rtype != "CNAME" and any(r["Type"] == "CNAME" for r in same_name):
            return f"[RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with other records with the same DNS name in zone {apex}]"
        group = [r for r in same_name if r["Type"] == rtype]
        if "Weight" in rr and any("Weight" not in r for r in group):
            return f"[RRSet with DNS name {name}, type {rtype}, SetIdentifier {rr.get('SetIdentifier')} cannot be created as a non-weighted set exists with the same name and type.]"
        if "Weight" not in rr and len(group) > 1:
            return f"[RRSet with DNS name {name}, type {rtype} cannot be created as other RRSets exist with the same name and type.]"
        ttls = {r.get("TTL") for r in group if "Weight" in r and "AliasTarget" not in r}
        if len(ttls) > 1:
            return f"[RRSet with DNS name {name} and type {rtype}, SetIdentifier {rr.get('SetIdentifier')} cannot be created as weighted sets must contain the same TTL.]"
    return None


# --- Auto Scaling ------------------------------------------------------------------------------


@rule(
    "autoscaling.tags",
    "autoscaling",
    ("CreateOrUpdateTags",),
    "tags name an Auto Scaling group (ResourceType auto-scaling-group), no key starts with "
    "'aws:', and a group carries at most 50 tags",
    "https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-tagging.html (Tag "
    "naming and usage restrictions)",
    "ValidationError",
    stateful=True,
)
def _asg_tags(ctx: Context):
    tags = ctx.params.get("Tags", [])
    for t in tags:
        if t.get("ResourceType") != "auto-scaling-group":
            return "ResourceType must be auto-scaling-group"
        if _reserved(t.get("Key", "")):
            return f"Tag key '{t['Key']}' uses the reserved prefix 'aws:'"
    by_group: dict[str, set] = {}
    for t in tags:
        by_group.setdefault(t.get("ResourceId", ""), set()).add(t["Key"])
    asg = ctx.client("autoscaling")
    for group, keys in by_group.items():
        found = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        existing = {t["Key"] for t in found[0].get("Tags", [])} if found else set()
        if len(existing | keys) > 50:
            return Refusal("LimitExceeded", f"The Auto Scaling group {group} would carry more than 50 tags")
    return None

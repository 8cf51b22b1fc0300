"""The contract layer refuses what AWS refuses: one refused request (and its accepted twin) per
rule of the table, the model checks, and the moto patches. Runs against the bed's layer
(scripts/test starts it); under CI=true a missing bed fails instead of skipping."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from . import rules
from .proxy import PROBE_HEADER

ENDPOINT = os.environ.get("PAVED_TEST_AWS_ENDPOINT")
if not ENDPOINT:
    if os.environ.get("CI") == "true":
        raise RuntimeError("PAVED_TEST_AWS_ENDPOINT is not set: the test bed is not running (scripts/test starts it)")
    pytest.skip("the test bed is not running; scripts/test starts it", allow_module_level=True)


def client(service: str, region: str = "us-east-1"):
    c = boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # Bad requests must reach the layer: botocore's own checks would stop some first.
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )

    def mark(request, **_):
        request.headers[PROBE_HEADER] = "1"

    c.meta.events.register("before-sign.*.*", mark)
    return c


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def refused(rule: str, call, code: str | None = None):
    with pytest.raises(ClientError) as err:
        call()
    message = err.value.response["Error"]["Message"]
    assert f"[contract rule {rule};" in message, message
    assert "source: " in message
    if code:
        assert err.value.response["Error"]["Code"] == code, err.value.response["Error"]
    return message


ROLE = "arn:aws:iam::123456789012:role/paved-cluster"
TOKEN = "t" * 40


def vpc_subnets(ec2, zones):
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=z)["Subnet"]["SubnetId"]
        for i, z in enumerate(zones)
    ]


def create_cluster(eks, cluster, **kw):
    args = dict(name=cluster, roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-a1", "subnet-b2"]})
    args.update(kw)
    return eks.create_cluster(**args)


# --- one case per rule: it sends the refused request and its accepted twin ----------------------


def case_eks_request_token_length():
    eks = client("eks")
    refused("eks.request-token-length", lambda: create_cluster(eks, name("tok"), clientRequestToken="hello-blue-0123456789abcdef"), "InvalidParameterException")
    create_cluster(eks, name("tok"), clientRequestToken=TOKEN)


def case_eks_cluster_name():
    eks = client("eks")
    refused("eks.cluster-name", lambda: eks.describe_cluster(name="a.b"))
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_cluster(name="a-b")


def case_eks_nodegroup_name():
    eks = client("eks")
    cluster = name("ng")
    create_cluster(eks, cluster)
    ng = dict(clusterName=cluster, nodeRole=ROLE, subnets=["subnet-a1"], clientRequestToken=TOKEN)
    refused("eks.nodegroup-name", lambda: eks.create_nodegroup(nodegroupName="n" * 64, **ng))
    eks.create_nodegroup(nodegroupName="n" * 63, **ng)


def case_eks_subnets_two_azs():
    eks, ec2 = client("eks"), client("ec2")
    refused("eks.subnets-two-azs", lambda: create_cluster(eks, name("az"), resourcesVpcConfig={"subnetIds": ["subnet-a1"]}))
    same = vpc_subnets(ec2, ["us-east-1a", "us-east-1a"])
    refused("eks.subnets-two-azs", lambda: create_cluster(eks, name("az"), resourcesVpcConfig={"subnetIds": same}))
    two = vpc_subnets(ec2, ["us-east-1a", "us-east-1b"])
    create_cluster(eks, name("az"), resourcesVpcConfig={"subnetIds": two})


def case_eks_security_groups_max():
    eks = client("eks")
    vpc = {"subnetIds": ["subnet-a1", "subnet-b2"], "securityGroupIds": [f"sg-{i}" for i in range(6)]}
    refused("eks.security-groups-max", lambda: create_cluster(eks, name("sg"), resourcesVpcConfig=vpc))
    vpc["securityGroupIds"] = vpc["securityGroupIds"][:5]
    create_cluster(eks, name("sg"), resourcesVpcConfig=vpc)


def case_eks_tags_reserved_prefix():
    eks = client("eks")
    refused("eks.tags-reserved-prefix", lambda: create_cluster(eks, name("tg"), tags={"AWS:team": "x"}))
    create_cluster(eks, name("tg"), tags={"team": "aws-platform"})


def case_eks_tags_per_resource():
    eks = client("eks")
    arn = create_cluster(eks, name("tg"), tags={f"k{i}": "v" for i in range(45)})["cluster"]["arn"]
    refused("eks.tags-per-resource", lambda: eks.tag_resource(resourceArn=arn, tags={f"n{i}": "v" for i in range(6)}))
    eks.tag_resource(resourceArn=arn, tags={f"n{i}": "v" for i in range(5)})


def case_eks_nodegroup_labels_taints():
    eks = client("eks")
    cluster = name("lb")
    create_cluster(eks, cluster)
    ng = dict(clusterName=cluster, nodeRole=ROLE, subnets=["subnet-a1"], clientRequestToken=TOKEN)
    refused("eks.nodegroup-labels-taints", lambda: eks.create_nodegroup(nodegroupName="bad", labels={"tier": "-web"}, **ng))
    bad_taint = [{"key": "dedicated", "value": "web_", "effect": "NO_SCHEDULE"}]
    refused("eks.nodegroup-labels-taints", lambda: eks.create_nodegroup(nodegroupName="bad2", taints=bad_taint, **ng))
    eks.create_nodegroup(nodegroupName="good", labels={"example.com/tier": "web.1"}, taints=[{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}], **ng)


def case_eks_kubernetes_version_format():
    eks = client("eks")
    refused("eks.kubernetes-version-format", lambda: create_cluster(eks, name("v"), version="1.33.2"))
    create_cluster(eks, name("v"), version="1.33")


def ecr_repo(mutability="IMMUTABLE", **kw):
    ecr = client("ecr")
    repo = name("repo")
    ecr.create_repository(repositoryName=repo, imageTagMutability=mutability, **kw)
    return ecr, repo


def upload(ecr, repo, data: bytes) -> str:
    up = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=0, partLastByte=len(data) - 1, layerPartBlob=data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    ecr.complete_layer_upload(repositoryName=repo, uploadId=up, layerDigests=[digest])
    return digest


EMPTY = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(), "size": 2}


def manifest(layers, config=EMPTY, **extra) -> str:
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config, "layers": layers}
    doc.update(extra)
    return json.dumps(doc)


def case_ecr_manifest_json():
    ecr, repo = ecr_repo()
    refused("ecr.manifest-json", lambda: ecr.put_image(repositoryName=repo, imageManifest="{not json", imageTag="a"))
    no_type = json.dumps({"schemaVersion": 2, "config": EMPTY, "layers": [EMPTY]})
    refused("ecr.manifest-json", lambda: ecr.put_image(repositoryName=repo, imageManifest=no_type, imageTag="a"))
    upload(ecr, repo, b"{}")
    ecr.put_image(repositoryName=repo, imageManifest=no_type, imageTag="a", imageManifestMediaType="application/vnd.oci.image.manifest.v1+json")


def case_ecr_manifest_has_layers():
    ecr, repo = ecr_repo()
    upload(ecr, repo, b"{}")
    refused("ecr.manifest-has-layers", lambda: ecr.put_image(repositoryName=repo, imageManifest=manifest([]), imageTag="a"))
    ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY]), imageTag="a")


def case_ecr_manifest_blobs_exist():
    ecr, repo = ecr_repo()
    refused("ecr.manifest-blobs-exist", lambda: ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY]), imageTag="a"), "LayersNotFoundException")
    upload(ecr, repo, b"{}")
    ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY]), imageTag="a")


def case_ecr_image_tag_pattern():
    ecr, repo = ecr_repo()
    upload(ecr, repo, b"{}")
    refused("ecr.image-tag-pattern", lambda: ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY]), imageTag="v1:2"))
    ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY]), imageTag="v1.2_3-x")


def case_ecr_immutable_tags():
    ecr, repo = ecr_repo()
    upload(ecr, repo, b"{}")
    ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY], annotations={"n": "1"}), imageTag="lock")
    again = lambda: ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY], annotations={"n": "2"}), imageTag="lock")
    refused("ecr.immutable-tags", again, "ImageTagAlreadyExistsException")
    # A tag an exclusion filter makes mutable can be pushed again.
    ecr, repo = ecr_repo("IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "cache-*"}])
    upload(ecr, repo, b"{}")
    ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY], annotations={"n": "1"}), imageTag="cache-x")
    ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY], annotations={"n": "2"}), imageTag="cache-x")
    ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY], annotations={"n": "1"}), imageTag="cachex")
    refused("ecr.immutable-tags", lambda: ecr.put_image(repositoryName=repo, imageManifest=manifest([EMPTY], annotations={"n": "2"}), imageTag="cachex"))


def case_ecr_layer_upload():
    ecr, repo = ecr_repo()
    up = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    empty = "sha256:" + hashlib.sha256(b"").hexdigest()
    refused("ecr.layer-upload", lambda: ecr.complete_layer_upload(repositoryName=repo, uploadId=up, layerDigests=[empty]), "EmptyUploadException")
    up = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=up, partFirstByte=0, partLastByte=1, layerPartBlob=b"{}")
    refused("ecr.layer-upload", lambda: ecr.complete_layer_upload(repositoryName=repo, uploadId=up, layerDigests=[empty]), "InvalidLayerException")
    upload(ecr, repo, b"{}")


def case_ecr_tags():
    ecr = client("ecr")
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    refused("ecr.tags", lambda: ecr.create_repository(repositoryName=name("t"), tags=many), "TooManyTagsException")
    refused("ecr.tags", lambda: ecr.create_repository(repositoryName=name("t"), tags=[{"Key": "aws:x", "Value": "v"}]))
    ecr.create_repository(repositoryName=name("t"), tags=many[:50])


def zone():
    r53 = client("route53")
    domain = f"{name('z')}.example.com"
    zone_id = r53.create_hosted_zone(Name=domain, CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    return r53, zone_id, domain


def weighted(host, color, weight, target, ttl=60):
    return {"Name": host, "Type": "CNAME", "SetIdentifier": color, "Weight": weight, "TTL": ttl, "ResourceRecords": [{"Value": target}]}


def change(r53, zone_id, *changes):
    return r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": a, "ResourceRecordSet": rr} for a, rr in changes]})


def records(r53, zone_id, host):
    return [r for r in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"] if r["Name"] == host + "."]


def case_route53_record_shape():
    r53, zone_id, domain = zone()
    host = f"app.{domain}"
    alias_ttl = {"Name": host, "Type": "A", "TTL": 60, "AliasTarget": {"HostedZoneId": "Z2", "DNSName": "lb.example.net", "EvaluateTargetHealth": True}}
    refused("route53.record-shape", lambda: change(r53, zone_id, ("CREATE", alias_ttl)), "InvalidInput")
    unweighted_id = {"Name": host, "Type": "A", "TTL": 60, "SetIdentifier": "blue", "ResourceRecords": [{"Value": "192.0.2.1"}]}
    refused("route53.record-shape", lambda: change(r53, zone_id, ("CREATE", unweighted_id)))
    change(r53, zone_id, ("CREATE", weighted(host, "blue", 100, "a.example.net")))


def case_route53_change_batch():
    r53, zone_id, domain = zone()
    host = f"app.{domain}"
    blue = weighted(host, "blue", 100, "blue.example.net")
    change(r53, zone_id, ("CREATE", blue))
    message = refused("route53.change-batch", lambda: change(r53, zone_id, ("DELETE", blue), ("DELETE", blue)), "InvalidChangeBatch")
    assert "more than once" in message
    many = {"Name": f"txt.{domain}", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": f'"{i}"'} for i in range(501)]}
    refused("route53.change-batch", lambda: change(r53, zone_id, ("UPSERT", many)))
    many["ResourceRecords"] = many["ResourceRecords"][:500]
    change(r53, zone_id, ("UPSERT", many))


def case_route53_change_batch_state():
    r53, zone_id, domain = zone()
    host, other = f"app.{domain}", f"api.{domain}"
    blue = weighted(host, "blue", 100, "blue.example.net")
    change(r53, zone_id, ("CREATE", blue), ("CREATE", weighted(other, "blue", 100, "x.example.net")))
    refused("route53.change-batch-state", lambda: change(r53, zone_id, ("CREATE", blue)), "InvalidChangeBatch")
    refused("route53.change-batch-state", lambda: change(r53, zone_id, ("DELETE", weighted(host, "blue", 50, "blue.example.net"))))
    refused("route53.change-batch-state", lambda: change(r53, zone_id, ("DELETE", weighted(host, "green", 0, "g.example.net"))))
    # A batch applies whole: its first change is not made when its second is refused.
    green = weighted(host, "green", 0, "green.example.net")
    refused("route53.change-batch-state", lambda: change(r53, zone_id, ("CREATE", green), ("DELETE", weighted(host, "blue", 1, "blue.example.net"))))
    assert [r["SetIdentifier"] for r in records(r53, zone_id, host)] == ["blue"]
    # DELETE and CREATE of one identifier in a batch is how a weight moves, and a move back to
    # values the record once had is no different (moto patch route53-create-after-delete).
    for w in (50, 100, 50, 100):
        current = records(r53, zone_id, host)[0]
        change(r53, zone_id, ("DELETE", current), ("CREATE", weighted(host, "blue", w, "blue.example.net")))
    assert records(r53, zone_id, host)[0]["Weight"] == 100
    # Only that name's record went (moto patch route53-delete-by-identifier).
    assert [r["SetIdentifier"] for r in records(r53, zone_id, other)] == ["blue"]


def case_route53_record_set_consistency():
    r53, zone_id, domain = zone()
    apex_cname = {"Name": domain, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.example.net"}]}
    refused("route53.record-set-consistency", lambda: change(r53, zone_id, ("CREATE", apex_cname)), "InvalidChangeBatch")
    host = f"www.{domain}"
    change(r53, zone_id, ("CREATE", {"Name": host, "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"v=1"'}]}))
    refused("route53.record-set-consistency", lambda: change(r53, zone_id, ("CREATE", weighted(host, "blue", 1, "b.example.net"))))
    app = f"app.{domain}"
    change(r53, zone_id, ("CREATE", weighted(app, "blue", 100, "b.example.net")))
    refused("route53.record-set-consistency", lambda: change(r53, zone_id, ("CREATE", weighted(app, "green", 0, "g.example.net", ttl=30))))
    plain = {"Name": app, "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "p.example.net"}]}
    refused("route53.record-set-consistency", lambda: change(r53, zone_id, ("CREATE", plain)))
    change(r53, zone_id, ("CREATE", weighted(app, "green", 0, "g.example.net")))


def case_autoscaling_tags():
    asg = client("autoscaling")
    refused("autoscaling.tags", lambda: asg.create_or_update_tags(Tags=[{"ResourceId": "g", "ResourceType": "instance", "Key": "k", "Value": "v", "PropagateAtLaunch": False}]), "ValidationError")
    refused("autoscaling.tags", lambda: asg.create_or_update_tags(Tags=[{"ResourceId": "g", "ResourceType": "auto-scaling-group", "Key": "aws:k", "Value": "v", "PropagateAtLaunch": False}]))


CASES = {
    "eks.request-token-length": case_eks_request_token_length,
    "eks.cluster-name": case_eks_cluster_name,
    "eks.nodegroup-name": case_eks_nodegroup_name,
    "eks.subnets-two-azs": case_eks_subnets_two_azs,
    "eks.security-groups-max": case_eks_security_groups_max,
    "eks.tags-reserved-prefix": case_eks_tags_reserved_prefix,
    "eks.tags-per-resource": case_eks_tags_per_resource,
    "eks.nodegroup-labels-taints": case_eks_nodegroup_labels_taints,
    "eks.kubernetes-version-format": case_eks_kubernetes_version_format,
    "ecr.manifest-json": case_ecr_manifest_json,
    "ecr.manifest-has-layers": case_ecr_manifest_has_layers,
    "ecr.manifest-blobs-exist": case_ecr_manifest_blobs_exist,
    "ecr.image-tag-pattern": case_ecr_image_tag_pattern,
    "ecr.immutable-tags": case_ecr_immutable_tags,
    "ecr.layer-upload": case_ecr_layer_upload,
    "ecr.tags": case_ecr_tags,
    "route53.record-shape": case_route53_record_shape,
    "route53.change-batch": case_route53_change_batch,
    "route53.change-batch-state": case_route53_change_batch_state,
    "route53.record-set-consistency": case_route53_record_set_consistency,
    "autoscaling.tags": case_autoscaling_tags,
}


@pytest.mark.parametrize("rule_id", [r.id for r in rules.RULES])
def test_every_rule_refuses_a_bad_request(rule_id):
    assert rule_id in CASES, f"rule {rule_id} has no case in test_contract.py"
    CASES[rule_id]()


def test_every_case_names_a_rule():
    assert set(CASES) <= {r.id for r in rules.RULES}


# --- the model checks ----------------------------------------------------------------------------


def test_model_refuses_lengths_ranges_enums_patterns_and_missing_members():
    eks, r53, ecr = client("eks"), client("route53"), client("ecr")
    message = refused("model:eks:CreateCluster", lambda: create_cluster(eks, "n" * 101))
    assert "length less than or equal to 100" in message
    refused("model:eks:CreateCluster", lambda: create_cluster(eks, "-lead"))
    message = refused("model:eks:ListClusters", lambda: eks.list_clusters(maxResults=101))
    assert "less than or equal to 100" in message
    _, zone_id, domain = zone()
    heavy = weighted(f"app.{domain}", "blue", 256, "b.example.net")
    message = refused("model:route53:ChangeResourceRecordSets", lambda: change(r53, zone_id, ("CREATE", heavy)), "InvalidInput")
    assert "less than or equal to 255" in message
    refused("model:route53:ChangeResourceRecordSets", lambda: change(r53, zone_id, ("REPLACE", heavy)))
    message = refused("model:ecr:DescribeImages", lambda: ecr.describe_images(repositoryName="x", imageIds=[{"imageTag": "t" * 301}]))
    assert "imageIds.1.member.imageTag" in message
    refused("model:eks:CreateCluster", lambda: eks.create_cluster(name="x", resourcesVpcConfig={}))


def test_model_checks_query_protocol_requests():
    asg = client("autoscaling")
    message = refused("model:autoscaling:CreateOrUpdateTags", lambda: asg.create_or_update_tags(Tags=[{"ResourceId": "g", "ResourceType": "auto-scaling-group", "Key": "k" * 129, "Value": "v", "PropagateAtLaunch": False}]), "ValidationError")
    assert "Tags.1.member.Key" in message


def test_every_model_pattern_compiles():
    from .model import load_services

    for svc in load_services().values():
        for shape in svc.model["shapes"].values():
            if "pattern" in shape:
                svc.pattern(shape["pattern"])
        assert not svc.unchecked_patterns, f"{svc.name}: patterns the layer cannot check: {svc.unchecked_patterns}"


def test_requests_that_keep_the_rules_pass_through_to_moto():
    eks = client("eks")
    cluster = name("ok")
    create_cluster(eks, cluster, clientRequestToken=TOKEN, version="1.33", tags={"paved.dev/app": "ok"})
    assert eks.describe_cluster(name=cluster)["cluster"]["name"] == cluster
    sts = client("sts")
    assert sts.get_caller_identity()["Account"] == "123456789012"


def test_an_image_digest_is_the_digest_of_its_manifest():
    # moto patch ecr-manifest-digest: two manifests with the same layers are two images.
    ecr, repo = ecr_repo("MUTABLE")
    upload(ecr, repo, b"{}")
    digests = set()
    for n in ("1", "2"):
        body = manifest([EMPTY], annotations={"n": n})
        image = ecr.put_image(repositoryName=repo, imageManifest=body, imageTag=f"t{n}")["image"]
        assert image["imageId"]["imageDigest"] == "sha256:" + hashlib.sha256(body.encode()).hexdigest()
        digests.add(image["imageId"]["imageDigest"])
    assert len(digests) == 2


def test_the_report_counts_what_a_correct_client_would_not_send(tmp_path):
    from . import report

    log = tmp_path / "violations.jsonl"
    entries = [
        {"probe": True, "conflict": False, "service": "eks", "operation": "CreateCluster", "rule": "eks.x", "message": "m", "source": "s"},
        {"probe": False, "conflict": True, "service": "ecr", "operation": "PutImage", "rule": "ecr.immutable-tags", "message": "m", "source": "s"},
    ]
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    assert report.main([str(log)]) == 0
    entries.append({"probe": False, "conflict": False, "service": "eks", "operation": "CreateCluster", "rule": "eks.request-token-length", "message": "m", "source": "s"})
    log.write_text("".join(json.dumps(e) + "\n" for e in entries))
    assert report.main([str(log)]) == 1


def test_the_documented_rule_table_is_the_rules():
    from . import table

    docs = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "testing.md")
    with open(docs) as f:
        text = f.read()
    start, end = text.index(table.BEGIN), text.index(table.END) + len(table.END)
    assert text[start:end] == table.markdown(), "docs/testing.md: run `python -m awscontract.table` and paste"


def test_hosted_zone_pages_are_marked_by_zone_ids():
    # moto patch route53-zone-markers: the next page starts at a zone id, which goes back in
    # Marker (at most 64 characters in the model) as Route 53's does.
    r53 = client("route53")
    for _ in range(3):
        zone()
    first = r53.list_hosted_zones(MaxItems="2")
    assert first["IsTruncated"]
    marker = first["NextMarker"]
    assert len(marker) <= 32 and "/" not in marker, marker
    second = r53.list_hosted_zones(MaxItems="2", Marker=marker)
    assert second["HostedZones"][0]["Id"].endswith(marker)


def test_eks_access_entries_pod_identity_and_addons_are_kept_per_cluster():
    # moto patch eks-access: the operations moto lacks, with EKS's answers to a second entry,
    # association or add-on, and CreateCluster's Auto Mode settings kept for DescribeCluster.
    eks = client("eks")
    cluster = name("access")
    eks.create_cluster(
        name=cluster,
        roleArn=ROLE,
        resourcesVpcConfig={"subnetIds": ["subnet-a", "subnet-b"]},
        version="1.35",
        computeConfig={"enabled": True, "nodePools": ["general-purpose", "system"], "nodeRoleArn": ROLE + "-nodes"},
        kubernetesNetworkConfig={"elasticLoadBalancing": {"enabled": True}},
        storageConfig={"blockStorage": {"enabled": True}},
        upgradePolicy={"supportType": "STANDARD"},
    )
    described = eks.describe_cluster(name=cluster)["cluster"]
    assert described["computeConfig"]["enabled"] is True
    assert described["upgradePolicy"] == {"supportType": "STANDARD"}
    assert described["kubernetesNetworkConfig"]["elasticLoadBalancing"] == {"enabled": True}

    admin = "arn:aws:iam::123456789012:role/deployer"
    eks.create_access_entry(clusterName=cluster, principalArn=admin, tags={"paved.dev/app": "x"})
    with pytest.raises(ClientError) as err:
        eks.create_access_entry(clusterName=cluster, principalArn=admin)
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    eks.associate_access_policy(clusterName=cluster, principalArn=admin, policyArn=policy, accessScope={"type": "cluster"})
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [admin]
    listed = eks.list_associated_access_policies(clusterName=cluster, principalArn=admin)
    assert [p["policyArn"] for p in listed["associatedAccessPolicies"]] == [policy]
    eks.delete_access_entry(clusterName=cluster, principalArn=admin)
    with pytest.raises(ClientError) as err:
        eks.describe_access_entry(clusterName=cluster, principalArn=admin)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"

    made = eks.create_pod_identity_association(
        clusterName=cluster, namespace="app", serviceAccount="app", roleArn=ROLE + "-pods"
    )["association"]
    with pytest.raises(ClientError) as err:
        eks.create_pod_identity_association(clusterName=cluster, namespace="app", serviceAccount="app", roleArn=ROLE)
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"
    found = eks.list_pod_identity_associations(clusterName=cluster, namespace="app", serviceAccount="app")
    assert [a["associationId"] for a in found["associations"]] == [made["associationId"]]

    infos = eks.describe_addon_versions(addonName="vpc-cni", kubernetesVersion="1.35")["addons"]
    version = infos[0]["addonVersions"][0]
    assert version["compatibilities"][0] == {"clusterVersion": "1.35", "platformVersions": ["*"], "defaultVersion": True}
    with pytest.raises(ClientError) as err:
        eks.create_addon(clusterName=cluster, addonName="vpc-cni", addonVersion="v9.9.9")
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    eks.create_addon(clusterName=cluster, addonName="vpc-cni", addonVersion=version["addonVersion"])
    assert eks.list_addons(clusterName=cluster)["addons"] == ["vpc-cni"]

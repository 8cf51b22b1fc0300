"""What a platform team provides before paved creates a cluster (docs/clusters.md, "What a
platform team provides"), made in the bed's moto account so that `paved doctor` and
create-cluster's preflight find it:

- per region a VPC with two public subnets (tagged kubernetes.io/role/elb=1), the ones specs
  name, and two private ones (kubernetes.io/role/internal-elb=1), each pair in two zones;
- the cluster and node roles the example specs name, with the trust and the managed policies
  EKS Auto Mode asks for, and the pod roles the tests give service accounts.

Prints shell `export` lines: PAVED_TEST_SUBNETS="us-east-1=subnet-a,subnet-b;eu-west-1=...",
the public subnets by region in spec order. EC2 ids are moto's random ones, so tests put them
into their specs (tests/support/aws.rs, `with_bed_subnets`).
"""

import argparse
import json

import boto3

REGIONS = ("us-east-1", "eu-west-1")

PUBLIC_ELB = "kubernetes.io/role/elb"
INTERNAL_ELB = "kubernetes.io/role/internal-elb"


def trust(service, actions):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}
            ],
        }
    )


EKS = trust("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"])
EC2 = trust("ec2.amazonaws.com", "sts:AssumeRole")
PODS = trust("pods.eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"])

ROLES = {
    "paved-cluster": (
        EKS,
        [
            "AmazonEKSClusterPolicy",
            "AmazonEKSComputePolicy",
            "AmazonEKSBlockStoragePolicy",
            "AmazonEKSLoadBalancingPolicy",
            "AmazonEKSNetworkingPolicy",
        ],
    ),
    "paved-nodes": (
        EC2,
        [
            "AmazonEKSWorkerNodeMinimalPolicy",
            "AmazonEC2ContainerRegistryPullOnly",
            "AmazonEKSWorkerNodePolicy",
            "AmazonEKS_CNI_Policy",
        ],
    ),
    "billing-app": (PODS, []),
    "app-pods": (PODS, []),
    "app-pods-2": (PODS, []),
}


def subnets(ec2, region):
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    zones = [f"{region}a", f"{region}b"]
    public = []
    for i, (zone, tag, cidr) in enumerate(
        [
            (zones[0], PUBLIC_ELB, "10.20.0.0/20"),
            (zones[1], PUBLIC_ELB, "10.20.16.0/20"),
            (zones[0], INTERNAL_ELB, "10.20.128.0/20"),
            (zones[1], INTERNAL_ELB, "10.20.144.0/20"),
        ]
    ):
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)
        sid = subnet["Subnet"]["SubnetId"]
        ec2.create_tags(
            Resources=[sid],
            Tags=[{"Key": tag, "Value": "1"}, {"Key": "Name", "Value": f"paved-bed-{i}"}],
        )
        if tag == PUBLIC_ELB:
            public.append(sid)
    return public


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="the moto server")
    args = parser.parse_args()
    common = dict(
        endpoint_url=args.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam = boto3.client("iam", region_name="us-east-1", **common)
    for name, (document, policies) in ROLES.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document)
        for policy in policies:
            iam.attach_role_policy(
                RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/{policy}"
            )
    by_region = []
    for region in REGIONS:
        ec2 = boto3.client("ec2", region_name=region, **common)
        by_region.append(f"{region}={','.join(subnets(ec2, region))}")
    print(f'export PAVED_TEST_SUBNETS="{";".join(by_region)}"')


if __name__ == "__main__":
    main()

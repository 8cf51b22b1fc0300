//! The Route 53 hosted zone of Network Load Balancers in each region: an alias record to an NLB
//! names it beside the NLB's DNS name.
//!
//! Source: the AWS General Reference, "Elastic Load Balancing endpoints and quotas"
//! (<https://docs.aws.amazon.com/general/latest/gr/elb.html>, column "Route 53 Hosted Zone ID
//! (Network Load Balancers)"), as tabled in kubernetes-sigs/external-dns `provider/aws/aws.go`
//! and the Terraform AWS provider's `hostedZoneIDPerRegionNLBMap`, which agree; read 2026-12-07.

const NLB_HOSTED_ZONES: &[(&str, &str)] = &[
    ("af-south-1", "Z203XCE67M25HM"),
    ("ap-east-1", "Z12Y7K3UBGUAD1"),
    ("ap-east-2", "Z09176273OC2HWIAUNYW"),
    ("ap-northeast-1", "Z31USIVHYNEOWT"),
    ("ap-northeast-2", "ZIBE1TIR4HY56"),
    ("ap-northeast-3", "Z1GWIQ4HH19I5X"),
    ("ap-south-1", "ZVDDRBQ08TROA"),
    ("ap-south-2", "Z0711778386UTO08407HT"),
    ("ap-southeast-1", "ZKVM4W9LS7TM"),
    ("ap-southeast-2", "ZCT6FZBF4DROD"),
    ("ap-southeast-3", "Z01971771FYVNCOVWJU1G"),
    ("ap-southeast-4", "Z01156963G8MIIL7X90IV"),
    ("ap-southeast-5", "Z026317210H9ACVTRO6FB"),
    ("ap-southeast-6", "Z01392953RKV2Q3RBP0KU"),
    ("ap-southeast-7", "Z054363131YWATEMWRG5L"),
    ("ca-central-1", "Z2EPGBW3API2WT"),
    ("ca-west-1", "Z02754302KBB00W2LKWZ9"),
    ("cn-north-1", "Z3QFB96KMJ7ED6"),
    ("cn-northwest-1", "ZQEIKTCZ8352D"),
    ("eu-central-1", "Z3F0SRJ5LGBH90"),
    ("eu-central-2", "Z02239872DOALSIDCX66S"),
    ("eu-north-1", "Z1UDT6IFJ4EJM"),
    ("eu-south-1", "Z23146JA1KNAFP"),
    ("eu-south-2", "Z1011216NVTVYADP1SSV"),
    ("eu-west-1", "Z2IFOLAFXWLO4F"),
    ("eu-west-2", "ZD4D7Y8KGAS4G"),
    ("eu-west-3", "Z1CMS0P5QUZ6D5"),
    ("il-central-1", "Z0313266YDI6ZRHTGQY4"),
    ("me-central-1", "Z00282643NTTLPANJJG2P"),
    ("me-south-1", "Z3QSRYVP46NYYV"),
    ("mx-central-1", "Z02031231H3ID6HYJ9A7U"),
    ("sa-east-1", "ZTK26PT1VY4CU"),
    ("us-east-1", "Z26RNL4JYFTOTI"),
    ("us-east-2", "ZLMOA37VPKANP"),
    ("us-gov-east-1", "Z1ZSMQQ6Q24QQ8"),
    ("us-gov-west-1", "ZMG1MZ2THAWF1"),
    ("us-west-1", "Z24FKFUX50B4VW"),
    ("us-west-2", "Z18D5FSROUN65G"),
];

/// The NLB hosted zone of `region`, if the table knows the region.
pub fn nlb_hosted_zone(region: &str) -> Option<&'static str> {
    NLB_HOSTED_ZONES
        .binary_search_by(|(r, _)| (*r).cmp(region))
        .ok()
        .map(|i| NLB_HOSTED_ZONES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_lookup_and_finds_each_region() {
        assert!(NLB_HOSTED_ZONES.windows(2).all(|w| w[0].0 < w[1].0));
        for (region, zone) in NLB_HOSTED_ZONES {
            assert_eq!(nlb_hosted_zone(region), Some(*zone));
        }
        assert_eq!(nlb_hosted_zone("us-east-1"), Some("Z26RNL4JYFTOTI"));
        assert_eq!(nlb_hosted_zone("xx-nowhere-1"), None);
    }
}

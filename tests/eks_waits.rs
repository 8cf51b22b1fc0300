//! EKS waits, timeouts, throttling and deletions that moto cannot show (its clusters are ACTIVE
//! and gone at once): EKS's answers replayed with aws-smithy-mocks.

use std::time::Duration;

use aws_sdk_eks::Client;
use aws_sdk_eks::error::ErrorMetadata;
use aws_sdk_eks::operation::delete_cluster::DeleteClusterOutput;
use aws_sdk_eks::operation::describe_cluster::{DescribeClusterError, DescribeClusterOutput};
use aws_sdk_eks::types::error::ResourceNotFoundException;
use aws_sdk_eks::types::{Cluster, ClusterStatus};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use paved::aws::eks::{self, EksError};
use paved::wait::WaitOptions;

fn cluster(status: ClusterStatus) -> DescribeClusterOutput {
    DescribeClusterOutput::builder()
        .cluster(
            Cluster::builder()
                .name("hello-blue")
                .status(status)
                .endpoint("https://example.invalid")
                .build(),
        )
        .build()
}

fn fast(timeout: Duration) -> WaitOptions {
    WaitOptions {
        interval: Duration::from_millis(1),
        timeout,
        progress_every: Duration::from_millis(1),
    }
}

#[tokio::test]
async fn creating_becomes_active_over_several_polls() {
    let rule = mock!(Client::describe_cluster)
        .sequence()
        .output(|| cluster(ClusterStatus::Creating))
        .times(3)
        .output(|| cluster(ClusterStatus::Active))
        .build();
    let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&rule]);
    let c = eks::wait_cluster_active(&client, "hello-blue", fast(Duration::from_secs(10)))
        .await
        .expect("active");
    assert_eq!(c.status(), Some(&ClusterStatus::Active));
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn a_wait_times_out_naming_the_phase() {
    let rule = mock!(Client::describe_cluster)
        .sequence()
        .output(|| cluster(ClusterStatus::Creating))
        .repeatedly()
        .build();
    let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&rule]);
    match eks::wait_cluster_active(&client, "hello-blue", fast(Duration::from_millis(30))).await {
        Err(EksError::TimedOut(msg)) => assert!(
            msg.contains("cluster hello-blue: still CREATING after"),
            "{msg}"
        ),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(rule.num_calls() >= 2);
}

#[tokio::test]
async fn a_failed_cluster_stops_the_wait() {
    let rule = mock!(Client::describe_cluster).then_output(|| cluster(ClusterStatus::Failed));
    let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&rule]);
    match eks::wait_cluster_active(&client, "hello-blue", fast(Duration::from_secs(10))).await {
        Err(EksError::Failed(msg)) => assert!(msg.contains("FAILED"), "{msg}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let rule = mock!(Client::describe_cluster)
        .sequence()
        .http_status(
            429,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .times(3)
        .output(|| cluster(ClusterStatus::Active))
        .build();
    let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&rule], |c| {
        c.retry_config(paved::aws::retry_config())
    });
    let c = eks::describe_cluster(&client, "hello-blue")
        .await
        .expect("retried")
        .expect("found");
    assert_eq!(c.status(), Some(&ClusterStatus::Active));
    assert_eq!(rule.num_calls(), 4);
}

/// Throttled `n` times in a row, then answered.
fn throttled(n: usize) -> aws_smithy_mocks::Rule {
    mock!(Client::describe_cluster)
        .sequence()
        .http_status(
            429,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .times(n)
        .output(|| cluster(ClusterStatus::Active))
        .build()
}

#[tokio::test]
async fn below_the_retry_budget_throttling_is_never_fatal_and_at_it_the_error_says_so() {
    let budget = paved::aws::MAX_ATTEMPTS as usize;
    let rule = throttled(budget - 1);
    let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&rule], |c| {
        c.retry_config(paved::aws::retry_config())
    });
    let found = eks::describe_cluster(&client, "hello-blue").await;
    assert!(matches!(found, Ok(Some(_))), "{found:?}");
    assert_eq!(rule.num_calls(), budget);

    let rule = throttled(budget);
    let client = mock_client!(aws_sdk_eks, RuleMode::Sequential, [&rule], |c| {
        c.retry_config(paved::aws::retry_config())
    });
    let err = eks::describe_cluster(&client, "hello-blue")
        .await
        .expect_err("out of attempts");
    assert_eq!(rule.num_calls(), budget, "no attempt beyond the budget");
    assert_eq!(
        err.to_string(),
        "describe cluster hello-blue: ThrottlingException: Rate exceeded"
    );
}

#[tokio::test]
async fn deletion_waits_until_eks_no_longer_knows_the_cluster() {
    let delete =
        mock!(Client::delete_cluster).then_output(|| DeleteClusterOutput::builder().build());
    let describe = mock!(Client::describe_cluster)
        .sequence()
        .output(|| cluster(ClusterStatus::Deleting))
        .times(2)
        // As EKS's JSON error deserializes: the typed error and its code.
        .error(|| {
            DescribeClusterError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("No cluster found for name: hello-blue.")
                    .meta(
                        ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            )
        })
        .build();
    let client = mock_client!(aws_sdk_eks, RuleMode::MatchAny, [&delete, &describe]);
    eks::delete_cluster(&client, "hello-blue", fast(Duration::from_secs(10)))
        .await
        .expect("deleted");
    assert_eq!(delete.num_calls(), 1);
    assert_eq!(describe.num_calls(), 3, "DELETING twice, then gone");
}

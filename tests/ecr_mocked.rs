//! ECR answers moto cannot give, replayed with aws-smithy-mocks in the shapes ECR uses (the
//! contract layer's rules ecr.layer-upload and the BatchDeleteImage failures list are the
//! reference): a deletion refused per image inside a successful answer, and a blob another
//! process uploaded first.

use aws_sdk_ecr::Client;
use aws_sdk_ecr::error::ErrorMetadata;
use aws_sdk_ecr::operation::batch_check_layer_availability::BatchCheckLayerAvailabilityOutput;
use aws_sdk_ecr::operation::batch_delete_image::BatchDeleteImageOutput;
use aws_sdk_ecr::operation::complete_layer_upload::CompleteLayerUploadError;
use aws_sdk_ecr::operation::initiate_layer_upload::InitiateLayerUploadOutput;
use aws_sdk_ecr::operation::upload_layer_part::UploadLayerPartOutput;
use aws_sdk_ecr::types::error::LayerAlreadyExistsException;
use aws_sdk_ecr::types::{ImageFailure, ImageFailureCode, ImageIdentifier};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use paved::aws::ecr;

fn failure(digest: &str, code: ImageFailureCode, reason: &str) -> ImageFailure {
    ImageFailure::builder()
        .image_id(ImageIdentifier::builder().image_digest(digest).build())
        .failure_code(code)
        .failure_reason(reason)
        .build()
}

#[tokio::test]
async fn a_deletion_refused_inside_a_successful_answer_is_an_error() {
    // HTTP 200 with `failures`: what ECR answers when it cannot delete an image.
    let refused = mock!(Client::batch_delete_image).then_output(|| {
        BatchDeleteImageOutput::builder()
            .failures(failure(
                "sha256:aa",
                ImageFailureCode::KmsError,
                "KMS key is disabled",
            ))
            .build()
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::Sequential, [&refused]);
    let err = ecr::delete_images(&client, "hello", &["sha256:aa".into()])
        .await
        .expect_err("a refused deletion");
    let text = err.to_string();
    assert!(
        text.contains("sha256:aa: KmsError: KMS key is disabled"),
        "{text}"
    );
}

#[tokio::test]
async fn an_image_already_gone_counts_as_deleted() {
    let gone = mock!(Client::batch_delete_image).then_output(|| {
        BatchDeleteImageOutput::builder()
            .failures(failure(
                "sha256:bb",
                ImageFailureCode::ImageNotFound,
                "Requested image not found",
            ))
            .build()
    });
    let client = mock_client!(aws_sdk_ecr, RuleMode::Sequential, [&gone]);
    ecr::delete_images(&client, "hello", &["sha256:bb".into()])
        .await
        .expect("nothing left to delete");
}

#[tokio::test]
async fn a_blob_uploaded_meanwhile_by_another_process_is_there() {
    let missing = mock!(Client::batch_check_layer_availability)
        .then_output(|| BatchCheckLayerAvailabilityOutput::builder().build());
    let initiate = mock!(Client::initiate_layer_upload).then_output(|| {
        InitiateLayerUploadOutput::builder()
            .upload_id("5f2b3c5e-0000-4000-8000-000000000001")
            .part_size(10_485_760)
            .build()
    });
    let part = mock!(Client::upload_layer_part)
        .match_requests(|r| {
            r.part_first_byte() == Some(0)
                && r.part_last_byte() == Some(1)
                && r.layer_part_blob().map(|b| b.as_ref()) == Some(b"{}".as_slice())
        })
        .then_output(|| UploadLayerPartOutput::builder().build());
    let raced = mock!(Client::complete_layer_upload).then_error(|| {
        CompleteLayerUploadError::LayerAlreadyExistsException(
            LayerAlreadyExistsException::builder()
                .message("The layer already exists")
                .meta(
                    ErrorMetadata::builder()
                        .code("LayerAlreadyExistsException")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_ecr,
        RuleMode::Sequential,
        [&missing, &initiate, &part, &raced]
    );
    let digest = ecr::ensure_blob(&client, "hello", b"{}")
        .await
        .expect("the blob is there");
    assert_eq!(
        digest,
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    assert_eq!(part.num_calls(), 1);
}

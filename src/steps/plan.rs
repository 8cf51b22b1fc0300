//! `paved plan --live`: the plan against what AWS says now: clusters and their hashes, DNS
//! weights, and whether ECR already has the image's content hash.

use crate::cli::PlanArgs;
use crate::github::actions;
use crate::hash::content::Method;
use crate::hash::content_hash;
use crate::plan::{Decision, Format, Plan, live, plan};
use crate::spec;

use super::StepError;

pub async fn run(args: &PlanArgs) -> Result<Plan, StepError> {
    let loaded = spec::load(&args.app)?;
    let app = &loaded.spec;
    let sdk = args.aws.sdk_config(&app.cluster.region).await;
    let eks_client = aws_sdk_eks::Client::new(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let state = live::read(&eks_client, Some(&r53), app, true)
        .await
        .map_err(StepError::failed)?;
    let input = loaded.clone();
    let content = tokio::task::spawn_blocking(move || content_hash(&input, Method::Auto))
        .await
        .map_err(StepError::failed)?
        .map_err(StepError::failed)?;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let repo = crate::plan::repository(app);
    let in_registry = match crate::aws::ecr::image_digest(&ecr, &repo, &content.hash).await {
        Ok(found) => Some(found.is_some()),
        Err(e) => {
            tracing::warn!("cannot tell whether ECR has the image: {e}");
            None
        }
    };
    let mut p = plan(&loaded, state.live, args.image.clone());
    p.image.content_hash = Some(content.hash);
    p.image.in_registry = in_registry;
    Ok(p)
}

/// Outputs the workflow reads to choose its jobs.
fn publish(p: &Plan, format: Format) -> std::io::Result<()> {
    print!("{}", p.render(format));
    let (strategy, color, replaces) = match &p.decision {
        Decision::Rolling { color, .. } => ("rolling", color.to_string(), String::new()),
        Decision::BlueGreen {
            color, replaces, ..
        } => (
            "blue-green",
            color.to_string(),
            replaces.map(|c| c.to_string()).unwrap_or_default(),
        ),
        Decision::Undecided { .. } => ("undecided", String::new(), String::new()),
        Decision::Refused { .. } => ("refused", String::new(), String::new()),
    };
    actions::set_output("strategy", strategy)?;
    actions::set_output("color", &color)?;
    actions::set_output("replaces", &replaces)?;
    actions::set_output("cluster-hash", &p.cluster.cluster_hash)?;
    actions::set_output(
        "content-hash",
        p.image.content_hash.as_deref().unwrap_or_default(),
    )?;
    actions::set_output(
        "image-exists",
        &p.image.in_registry.unwrap_or(false).to_string(),
    )?;
    actions::append_summary(&p.render(Format::Markdown))
}

pub fn execute_live(args: PlanArgs) -> u8 {
    super::block_on("plan", run(&args), |p| {
        let refused = matches!(p.decision, Decision::Refused { .. });
        match (publish(&p, args.output), refused) {
            (Err(e), _) => {
                eprintln!("error: plan: cannot write the step outputs: {e}");
                crate::cli::exit::FAILED
            }
            // A refused plan is a failed deploy: the reason says what to do first.
            (Ok(()), true) => crate::cli::exit::FAILED,
            (Ok(()), false) => crate::cli::exit::OK,
        }
    })
}

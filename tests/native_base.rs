//! The native builder on top of a base image pulled by digest from a registry (the CNCF
//! registry of the test bed): the platform picked from an index, the base's layers copied into
//! the app's repository and kept under the new layer, its config carried over.

mod support;

use paved::build::{Builders, Target, build_image};
use paved::hash::content::Method;
use paved::hash::content_hash;
use paved::registry::{self, Auth, Registry, sha256_digest};
use serde_json::{Value, json};
use support::{bed_service, unique};

/// Push a small base image (one layer, linux/amd64 and linux/arm64 under an index); returns the
/// index digest and the amd64 layer digest.
async fn push_base(reg: &Registry, repo: &str) -> (String, String) {
    let mut manifests = Vec::new();
    let mut amd64_layer = String::new();
    for arch in ["amd64", "arm64"] {
        let layer = format!("base layer for {arch}").into_bytes();
        let layer_digest = reg.push_blob(repo, &layer).await.expect("layer");
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "config": { "Env": ["PATH=/bin"], "User": "65532" },
            "rootfs": { "type": "layers", "diff_ids": [sha256_digest(&layer)] },
            "history": [{ "created": "2024-01-01T00:00:00Z" }],
        }))
        .expect("config");
        let config_digest = reg.push_blob(repo, &config).await.expect("config blob");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": registry::OCI_MANIFEST,
            "config": { "mediaType": registry::OCI_CONFIG, "digest": config_digest, "size": config.len() },
            "layers": [{ "mediaType": registry::OCI_LAYER_GZIP, "digest": layer_digest, "size": layer.len() }],
        }))
        .expect("manifest");
        let digest = reg
            .put_manifest(
                repo,
                &sha256_digest(&manifest),
                registry::OCI_MANIFEST,
                &manifest,
            )
            .await
            .expect("manifest");
        if arch == "amd64" {
            amd64_layer = layer_digest;
        }
        manifests.push(json!({ "mediaType": registry::OCI_MANIFEST, "digest": digest, "size": manifest.len(), "platform": { "os": "linux", "architecture": arch } }));
    }
    let index = serde_json::to_vec(
        &json!({ "schemaVersion": 2, "mediaType": registry::OCI_INDEX, "manifests": manifests }),
    )
    .expect("index");
    let index_digest = reg
        .put_manifest(repo, "1.0", registry::OCI_INDEX, &index)
        .await
        .expect("index");
    (index_digest, amd64_layer)
}

#[tokio::test]
async fn a_native_image_builds_on_a_base_pinned_by_digest() {
    let Some(host) = bed_service("PAVED_TEST_REGISTRY") else {
        return;
    };
    let reg = Registry::new(&host, Auth::Anonymous);
    let base_repo = unique("base");
    let (index_digest, base_layer) = push_base(&reg, &base_repo).await;

    let name = unique("onbase");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("app"), "app bytes").expect("app");
    std::fs::write(
        dir.path().join("kubeapp.yaml"),
        format!(
            "name: {name}
image:
  native:
    base: {host}/{base_repo}@{index_digest}
    files: [{{ src: app, dest: /app/server, mode: \"0755\" }}]
    entrypoint: [/app/server]
cluster:
  region: us-east-1
  version: \"1.35\"
  nodegroups: {{ default: {{ instanceTypes: [m7i.large], min: 1, max: 2 }} }}
components:
  web: {{ ports: {{ http: 8080 }} }}
"
        ),
    )
    .expect("spec");
    let loaded = paved::spec::load_file(&dir.path().join("kubeapp.yaml")).expect("spec");
    let content = content_hash(&loaded, Method::Bytes).expect("hash");
    assert_eq!(
        content.manifest.params["base"],
        format!("{host}/{base_repo}@{index_digest}"),
        "the base reference is an input"
    );
    let target = Target {
        registry: host.clone(),
        repository: name.clone(),
        auth: Auth::Anonymous,
    };
    let built = build_image(
        &loaded,
        &content,
        &target,
        &Builders {
            docker: "docker".into(),
        },
    )
    .await
    .expect("build");

    let manifest = reg
        .manifest(&name, &built.digest)
        .await
        .expect("get")
        .expect("present");
    let parsed: Value = serde_json::from_slice(&manifest.bytes).expect("json");
    let layers: Vec<&str> = parsed["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|l| l["digest"].as_str())
        .collect();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0], base_layer, "the amd64 base layer comes first");
    assert!(
        reg.has_blob(&name, &base_layer).await.expect("head"),
        "the base layer was copied into the app's repository"
    );
    let config = reg
        .blob(&name, parsed["config"]["digest"].as_str().expect("config"))
        .await
        .expect("config");
    let config: Value = serde_json::from_slice(&config).expect("config json");
    assert_eq!(
        config["config"]["Env"],
        json!(["PATH=/bin"]),
        "the base's config is carried over"
    );
    assert_eq!(config["config"]["Entrypoint"], json!(["/app/server"]));
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().map(Vec::len),
        Some(2)
    );
    assert!(
        config.get("history").is_none(),
        "no timestamps from the base"
    );
}

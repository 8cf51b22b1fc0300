//! Checks of meaning, after the structure is known to be right: names, quantities, ranges,
//! references between fields. Every problem is collected and located.

use std::path::Path;
use std::sync::Arc;

use super::diagnostics::Problem;
use super::schema_check::SchemaChecker;
use super::types::*;
use super::units::{parse_cpu, parse_memory};
use super::yaml::{Loc, Node, PathSeg, Source};
use crate::hash::dockerignore::{DockerIgnore, IgnoreError, IgnoreFileError};

/// EKS Auto Mode needs Kubernetes 1.29 or newer.
const AUTO_MODE_MIN_MINOR: u32 = 29;

/// Longest app name: `<name>-green` must fit EKS's cluster-name rules with room for nodegroups.
pub const MAX_APP_NAME: usize = 40;

/// All semantic problems of a spec; `tree` locates them, `dir` is the app's directory (where
/// the spec's relative paths start).
pub fn validate(
    spec: &KubeApp,
    tree: &Node,
    dir: &Path,
    schema: &serde_json::Value,
) -> Vec<Problem> {
    let mut v = Validator {
        tree,
        dir,
        schema: SchemaChecker::new(schema),
        problems: Vec::new(),
    };
    v.app(spec);
    v.problems
}

/// The semantic problems that can be found while the file also has structural ones: the checks
/// of each part (the name, the image, the cluster, each component, config keys) that still reads
/// as its type once the structurally wrong values are left out, and every check when the whole
/// spec does. Nothing is reported twice: `structural` problems' values are not looked at again.
pub fn validate_despite(
    tree: &Node,
    dir: &Path,
    structural: &[Problem],
    schema: &serde_json::Value,
) -> Vec<Problem> {
    let mut json = tree.to_json();
    for p in structural {
        remove_at(&mut json, &p.path);
    }
    let mut v = Validator {
        tree,
        dir,
        schema: SchemaChecker::new(schema),
        problems: Vec::new(),
    };
    if let Ok(spec) = serde_json::from_value::<KubeApp>(json.clone()) {
        v.app(&spec);
    } else {
        if let Some(name) = json.get("name").and_then(|n| n.as_str()) {
            v.app_name(name);
        }
        if let Some(image) = part::<Image>(&json, "image") {
            v.image(&image);
        }
        if let Some(cluster) = part::<Cluster>(&json, "cluster") {
            v.cluster(&cluster);
        }
        if let Some(components) = json.get("components").and_then(|c| c.as_object()) {
            for (name, value) in components {
                if let Ok(c) = serde_json::from_value::<Component>(value.clone()) {
                    v.component(name, &c);
                }
            }
        }
        if let Some(config) = json.get("config").and_then(|c| c.as_object()) {
            v.config_keys(config.keys());
        }
    }
    // A check of a value under a structural problem's path would say the same thing again.
    v.problems
        .into_iter()
        .filter(|p| {
            !structural
                .iter()
                .any(|s| !s.path.is_empty() && under(&p.path, &s.path))
        })
        .collect()
}

fn part<T: serde::de::DeserializeOwned>(json: &serde_json::Value, key: &str) -> Option<T> {
    serde_json::from_value(json.get(key)?.clone()).ok()
}

/// Whether dotted path `p` is `parent` or inside it.
fn under(p: &str, parent: &str) -> bool {
    p == parent
        || p.strip_prefix(parent)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Remove the value at a dotted path (`components.web.ports`, `files[0]`), if there is one.
fn remove_at(json: &mut serde_json::Value, path: &str) {
    let Some((parent, last)) = path.rsplit_once('.').or(Some(("", path))) else {
        return;
    };
    if last.is_empty() || last.contains('[') {
        // An item of a list: the list goes, not just the item (its indices would shift).
        if let Some(list) = last.split('[').next().filter(|l| !l.is_empty()) {
            let joined = if parent.is_empty() {
                list.to_string()
            } else {
                format!("{parent}.{list}")
            };
            remove_at(json, &joined);
        }
        return;
    }
    let mut node = json;
    for key in parent.split('.').filter(|k| !k.is_empty()) {
        match node.get_mut(key) {
            Some(next) => node = next,
            None => return,
        }
    }
    if let Some(map) = node.as_object_mut() {
        map.remove(last);
    }
}

struct Validator<'t> {
    tree: &'t Node,
    dir: &'t Path,
    schema: SchemaChecker<'t>,
    problems: Vec<Problem>,
}

/// A path into the spec, built as the checks descend.
#[derive(Clone, Default)]
struct At(Vec<PathSeg>);

impl At {
    fn k(&self, key: &str) -> At {
        let mut p = self.0.clone();
        p.push(PathSeg::Key(key.to_string()));
        At(p)
    }
    fn i(&self, index: usize) -> At {
        let mut p = self.0.clone();
        p.push(PathSeg::Index(index));
        At(p)
    }
    fn dotted(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            match seg {
                PathSeg::Key(k) if out.is_empty() => out.push_str(k),
                PathSeg::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                PathSeg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }
}

fn root() -> At {
    At::default()
}

/// A problem located in the ignore file itself, with its text for the report.
fn ignore_problem(e: &IgnoreError) -> Problem {
    let text = std::fs::read(&e.file)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line.saturating_sub(1))
        .map(str::len)
        .sum();
    let line = &text[line_start.min(text.len())..];
    let line = if e.line == 1 {
        line.strip_prefix('\u{FEFF}').unwrap_or(line)
    } else {
        line
    };
    let skipped: usize = line
        .chars()
        .take(e.column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    let offset = (text.len() - line.len() + skipped).min(text.len());
    let loc = Loc {
        source: Arc::new(Source {
            path: e.file.display().to_string(),
            text,
        }),
        offset,
        line: e.line,
        column: e.column,
    };
    Problem::new(&loc, "", e.message.clone()).help(e.help.clone())
}

impl Validator<'_> {
    /// Where a value is written; for a defaulted value, where its nearest written parent is.
    fn loc(&self, at: &At) -> &Loc {
        &self.tree.find(&at.0).loc
    }

    /// Where a map key is written (for problems about names).
    fn key_loc(&self, at: &At) -> &Loc {
        match at.0.split_last() {
            Some((PathSeg::Key(k), parent)) => {
                let parent_node = self.tree.find(parent);
                let exact = parent_node.get(k).is_some();
                if exact {
                    parent_node.key_loc(k)
                } else {
                    &parent_node.loc
                }
            }
            _ => self.loc(at),
        }
    }

    fn err(&mut self, at: &At, message: impl Into<String>, help: Option<String>) {
        let mut p = Problem::new(self.loc(at), at.dotted(), message);
        p.help = help.or_else(|| self.schema.help_at(&at.0));
        self.problems.push(p);
    }

    fn err_key(&mut self, at: &At, message: impl Into<String>, help: Option<String>) {
        let mut p = Problem::new(self.key_loc(at), at.dotted(), message);
        p.help = help.or_else(|| self.schema.help_at(&at.0));
        self.problems.push(p);
    }

    /// A `.dockerignore` line Docker refuses makes the build fail: report it where it is
    /// written. (A file that cannot be read is left to the build, which says so.)
    fn docker_ignore(&mut self, docker: &DockerBuild) {
        let context = self.dir.join(&docker.context);
        let dockerfile = self.dir.join(&docker.dockerfile);
        if let Err(IgnoreFileError::Invalid(e)) =
            DockerIgnore::for_build(&context, Some(&dockerfile))
        {
            self.problems.push(ignore_problem(&e));
        }
    }

    fn app_name(&mut self, name: &str) {
        if let Err(why) = dns1123_label(name, MAX_APP_NAME) {
            self.err(
                &root().k("name"),
                format!("app name `{name}` {why}"),
                Some(format!(
                    "use lowercase letters, digits and '-', at most {MAX_APP_NAME} characters, e.g. `{}`",
                    suggest_label(name)
                )),
            );
        }
    }

    fn config_keys<'k>(&mut self, keys: impl Iterator<Item = &'k String>) {
        for key in keys {
            if !env_name(key) {
                self.err_key(
                    &root().k("config").k(key),
                    format!("config key `{key}` is not a valid environment variable name"),
                    Some("use letters, digits and '_', not starting with a digit".into()),
                );
            }
        }
    }

    fn app(&mut self, spec: &KubeApp) {
        self.app_name(&spec.name);
        self.image(&spec.image);
        self.cluster(&spec.cluster);
        self.arches(spec);
        if spec.components.is_empty() {
            self.err(
                &root(),
                "the app has no components",
                Some("add one under `components:`, e.g. `web: { ports: { http: 8080 } }`".into()),
            );
        }
        for (name, component) in &spec.components {
            self.component(name, component);
        }
        self.config_keys(spec.config.keys());
        if let Some(role) = spec
            .service_account
            .as_ref()
            .and_then(|s| s.iam_role.as_ref())
        {
            self.role_arn(&root().k("serviceAccount").k("iamRole"), role);
        }
        if let Some(dns) = &spec.dns {
            self.dns(spec, dns);
        }
        self.deploy(spec);
        if let Some(metrics) = &spec.observability.metrics {
            let has_port = spec
                .components
                .values()
                .any(|c| c.ports.contains_key(&metrics.port));
            if !has_port {
                self.err(
                    &root().k("observability").k("metrics").k("port"),
                    format!("no component has a port named `{}`", metrics.port),
                    Some("name a port from a component's `ports:`, e.g. `metrics`".into()),
                );
            }
            if !metrics.path.starts_with('/') {
                self.err(
                    &root().k("observability").k("metrics").k("path"),
                    format!("metrics path `{}` must start with '/'", metrics.path),
                    None,
                );
            }
        }
    }

    fn image(&mut self, image: &Image) {
        let at = root().k("image");
        match (&image.docker, &image.native) {
            (Some(_), Some(_)) => self.err(
                &at,
                "the image has both `docker` and `native` builds",
                Some(
                    "keep one: `docker` builds a Dockerfile, `native` assembles declared files"
                        .into(),
                ),
            ),
            (None, None) => self.err(
                &at,
                "the image has no build",
                Some(
                    "add `docker: { dockerfile: Dockerfile }` or `native: { files: [...] }`".into(),
                ),
            ),
            _ => {}
        }
        if let Some(repo) = &image.repository {
            let ok = !repo.is_empty()
                && repo.len() <= 256
                && repo.split('/').all(|part| {
                    !part.is_empty()
                        && part.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                        })
                });
            if !ok {
                self.err(
                    &at.k("repository"),
                    format!("`{repo}` is not a valid repository name"),
                    Some(
                        "use lowercase letters, digits, '.', '_', '-' and '/' between parts".into(),
                    ),
                );
            }
        }
        if let Some(docker) = &image.docker {
            for (i, platform) in docker.platforms.iter().enumerate() {
                self.platform(&at.k("docker").k("platforms").i(i), platform);
            }
            if docker.platforms.is_empty() {
                self.err(
                    &at.k("docker").k("platforms"),
                    "no platform to build for",
                    Some("e.g. `[linux/amd64]`".into()),
                );
            }
            self.docker_ignore(docker);
        }
        if let Some(native) = &image.native {
            let at = at.k("native");
            self.platform(&at.k("platform"), &native.platform);
            if native.base != "scratch" && !native.base.contains("@sha256:") {
                self.err(
                    &at.k("base"),
                    format!("base image `{}` is not pinned by digest", native.base),
                    Some("write `registry/repo@sha256:<digest>` (a tag can move, which would change the image without changing its hash), or `scratch`".into()),
                );
            }
            if native.files.is_empty() {
                self.err(
                    &at.k("files"),
                    "a native image needs at least one file",
                    None,
                );
            }
            for (i, file) in native.files.iter().enumerate() {
                let fat = at.k("files").i(i);
                if !file.dest.starts_with('/') {
                    self.err(
                        &fat.k("dest"),
                        format!("`{}` must be an absolute path in the image", file.dest),
                        Some(format!("write `/{}`", file.dest.trim_start_matches("./"))),
                    );
                }
                let mode_ok = !file.mode.is_empty()
                    && file.mode.len() <= 4
                    && file.mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
                if !mode_ok {
                    self.err(
                        &fat.k("mode"),
                        format!("mode `{}` is not an octal permission", file.mode),
                        Some("quote an octal string such as \"0755\" or \"0644\"".into()),
                    );
                }
            }
        }
    }

    /// The image must run on some node: Auto Mode's general-purpose nodes are amd64, and
    /// nodegroups add theirs.
    fn arches(&mut self, spec: &KubeApp) {
        let image = spec.image_arches();
        let nodes = spec.node_arches();
        if image.is_empty() || !image.is_disjoint(&nodes) {
            return;
        }
        let at = match (&spec.image.docker, &spec.image.native) {
            (Some(_), _) => root().k("image").k("docker").k("platforms"),
            _ => root().k("image").k("native").k("platform"),
        };
        let names = |set: &std::collections::BTreeSet<Arch>| {
            set.iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.err(
            &at,
            format!(
                "the image is built for {} and no node of the cluster runs that (its nodes are {})",
                names(&image),
                names(&nodes)
            ),
            Some(format!(
                "build for linux/amd64 as well, or add a nodegroup with `arch: {}`",
                names(&image)
            )),
        );
    }

    fn platform(&mut self, at: &At, platform: &str) {
        let known = [
            "linux/amd64",
            "linux/arm64",
            "linux/arm/v7",
            "linux/386",
            "linux/ppc64le",
            "linux/s390x",
        ];
        if !known.contains(&platform) {
            let help = match super::schema_check::closest(platform, &known) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("one of {}", known.join(", ")),
            };
            self.err(at, format!("unknown platform `{platform}`"), Some(help));
        }
    }

    fn cluster(&mut self, cluster: &Cluster) {
        let at = root().k("cluster");
        if !region_like(&cluster.region) {
            self.err(
                &at.k("region"),
                format!("`{}` is not an AWS region", cluster.region),
                Some("e.g. `us-east-1`, `eu-west-2`".into()),
            );
        }
        let version_ok = cluster
            .version
            .split_once('.')
            .is_some_and(|(major, minor)| {
                major == "1" && !minor.is_empty() && minor.bytes().all(|b| b.is_ascii_digit())
            });
        let suggest = crate::support::CALENDAR
            .last()
            .map_or("1.35", |s| s.version);
        if !version_ok {
            self.err(
                &at.k("version"),
                format!("`{}` is not a Kubernetes minor version", cluster.version),
                Some(format!("write it quoted, e.g. \"{suggest}\"")),
            );
        } else if cluster
            .version
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|minor| minor < AUTO_MODE_MIN_MINOR)
        {
            // The EKS user guide, "Create a cluster with Amazon EKS Auto Mode".
            self.err(
                &at.k("version"),
                format!(
                    "Kubernetes {} is too old: paved's clusters run EKS Auto Mode, which needs 1.{AUTO_MODE_MIN_MINOR} or newer",
                    cluster.version
                ),
                Some(format!("use a version in standard support, e.g. \"{suggest}\"")),
            );
        }
        for (i, subnet) in cluster.network.subnets.iter().enumerate() {
            if !aws_id(subnet, "subnet-") {
                self.err(
                    &at.k("network").k("subnets").i(i),
                    format!("`{subnet}` is not a subnet id"),
                    Some("e.g. `subnet-0abc1234`".into()),
                );
            }
        }
        for (i, sg) in cluster.network.security_groups.iter().enumerate() {
            if !aws_id(sg, "sg-") {
                self.err(
                    &at.k("network").k("securityGroups").i(i),
                    format!("`{sg}` is not a security group id"),
                    Some("e.g. `sg-0abc1234`".into()),
                );
            }
        }
        if !cluster.network.public_endpoint && !cluster.network.private_endpoint {
            self.err(
                &at.k("network"),
                "the API endpoint is neither public nor private",
                Some("enable at least one of `publicEndpoint` and `privateEndpoint`".into()),
            );
        }
        if let Some(role) = &cluster.roles.cluster {
            self.role_arn(&at.k("roles").k("cluster"), role);
        }
        if let Some(role) = &cluster.roles.nodes {
            self.role_arn(&at.k("roles").k("nodes"), role);
        }
        for (i, admin) in cluster.admins.iter().enumerate() {
            self.principal_arn(&at.k("admins").i(i), admin);
        }
        for (name, ng) in &cluster.nodegroups {
            let nat = at.k("nodegroups").k(name);
            if let Err(why) = dns1123_label(name, 63) {
                self.err_key(
                    &nat,
                    format!("nodegroup name `{name}` {why}"),
                    Some(format!("e.g. `{}`", suggest_label(name))),
                );
            }
            if ng.instance_types.is_empty() {
                self.err(
                    &nat.k("instanceTypes"),
                    "no instance types",
                    Some("e.g. `[m7i.large]`".into()),
                );
            }
            for (i, t) in ng.instance_types.iter().enumerate() {
                let tat = nat.k("instanceTypes").i(i);
                match instance_arch(t) {
                    None => self.err(
                        &tat,
                        format!("`{t}` is not an EC2 instance type"),
                        Some("e.g. `m7i.large`".into()),
                    ),
                    Some(arch) if arch != ng.arch => {
                        let (theirs, ours) = (arch_name(arch), arch_name(ng.arch));
                        self.err(
                            &tat,
                            format!("`{t}` is an {theirs} instance type but the nodegroup's arch is {ours}"),
                            Some(format!("set `arch: {theirs}` or pick {ours} instance types")),
                        );
                    }
                    Some(_) => {}
                }
            }
            if ng.max == 0 {
                self.err(&nat.k("max"), "max must be at least 1", None);
            }
            if ng.min > ng.max {
                self.err(
                    &nat.k("min"),
                    format!("min ({}) is greater than max ({})", ng.min, ng.max),
                    None,
                );
            }
            if let Some(desired) = ng.desired
                && (desired < ng.min || desired > ng.max)
            {
                self.err(
                    &nat.k("desired"),
                    format!(
                        "desired ({desired}) must be between min ({}) and max ({})",
                        ng.min, ng.max
                    ),
                    None,
                );
            }
            if let Some(disk) = ng.disk_size
                && !(20..=16384).contains(&disk)
            {
                self.err(
                    &nat.k("diskSize"),
                    format!("disk size {disk} GiB is out of range"),
                    Some("EKS nodes need 20 GiB to 16384 GiB".into()),
                );
            }
            for (i, taint) in ng.taints.iter().enumerate() {
                if taint.key.is_empty() {
                    self.err(&nat.k("taints").i(i).k("key"), "a taint needs a key", None);
                }
            }
        }
    }

    fn component(&mut self, name: &str, c: &Component) {
        let at = root().k("components").k(name);
        if let Err(why) = dns1035_label(name, 63) {
            self.err_key(
                &at,
                format!("component name `{name}` {why}"),
                Some(format!(
                    "it names a Deployment and a Service; e.g. `{}`",
                    suggest_label(name)
                )),
            );
        }
        if c.replicas.is_some() && c.autoscaling.is_some() {
            self.err(
                &at.k("replicas"),
                "give `replicas` or `autoscaling`, not both",
                Some("`autoscaling: {min, max}` sets the pod count itself".into()),
            );
        }
        if let Some(a) = &c.autoscaling {
            let aat = at.k("autoscaling");
            if a.min == 0 {
                self.err(&aat.k("min"), "min must be at least 1", None);
            }
            if a.min > a.max {
                self.err(
                    &aat.k("min"),
                    format!("min ({}) is greater than max ({})", a.min, a.max),
                    None,
                );
            }
            if !(1..=100).contains(&a.target_cpu_percent) {
                self.err(
                    &aat.k("targetCpuPercent"),
                    format!("{}% is not a CPU target", a.target_cpu_percent),
                    Some("a percentage from 1 to 100".into()),
                );
            }
        }
        for (port_name, port) in &c.ports {
            let pat = at.k("ports").k(port_name);
            if !iana_service_name(port_name) {
                self.err_key(&pat, format!("port name `{port_name}` is not valid"), Some("at most 15 lowercase letters, digits and '-', with at least one letter, e.g. `http`".into()));
            }
            if *port == 0 {
                self.err(
                    &pat,
                    "port 0 is not a port",
                    Some("a number from 1 to 65535".into()),
                );
            }
        }
        for key in c.env.keys() {
            if !env_name(key) {
                self.err_key(
                    &at.k("env").k(key),
                    format!("`{key}` is not a valid environment variable name"),
                    Some("use letters, digits and '_', not starting with a digit".into()),
                );
            }
        }
        for (key, secret) in &c.secrets {
            let sat = at.k("secrets").k(key);
            if !env_name(key) {
                self.err_key(
                    &sat,
                    format!("`{key}` is not a valid environment variable name"),
                    None,
                );
            }
            if c.env.contains_key(key) {
                self.err_key(
                    &sat,
                    format!("`{key}` is set both in `env` and in `secrets`"),
                    Some("keep one".into()),
                );
            }
            if let Err(why) = dns1123_subdomain(&secret.secret) {
                self.err(
                    &sat.k("secret"),
                    format!("secret name `{}` {why}", secret.secret),
                    None,
                );
            }
        }
        self.resources(&at.k("resources"), &c.resources);
        if let Some(p) = &c.readiness {
            self.probe(&at.k("readiness"), c, p);
        }
        if let Some(p) = &c.liveness {
            self.probe(&at.k("liveness"), c, p);
        }
        if let Some(s) = &c.service {
            let sat = at.k("service");
            if s.port == 0 {
                self.err(&sat.k("port"), "port 0 is not a port", None);
            }
            if c.ports.is_empty() {
                self.err(
                    &sat,
                    "a service needs a container port to send to",
                    Some("add `ports: { http: 8080 }` to the component".into()),
                );
            }
            if let Some(target) = &s.target_port {
                self.port_ref(&sat.k("targetPort"), c, target);
            }
        }
    }

    /// Quantities were checked by the schema pass (format k8s-cpu / k8s-memory); here only how
    /// limits compare with requests.
    fn resources(&mut self, at: &At, r: &Resources) {
        let cpu = parse_cpu(&r.cpu).ok();
        let memory = parse_memory(&r.memory).ok();
        if let (Some(limit), Some(request)) = (r.cpu_limit.as_deref(), cpu)
            && parse_cpu(limit).is_ok_and(|l| l < request)
        {
            self.err(
                &at.k("cpuLimit"),
                format!("cpu limit {limit} is below the request {}", r.cpu),
                None,
            );
        }
        if let (Some(limit), Some(request)) = (r.memory_limit.as_deref(), memory)
            && parse_memory(limit).is_ok_and(|l| l < request)
        {
            self.err(
                &at.k("memoryLimit"),
                format!("memory limit {limit} is below the request {}", r.memory),
                None,
            );
        }
    }

    fn probe(&mut self, at: &At, c: &Component, p: &Probe) {
        let kinds = [p.http.is_some(), p.tcp.is_some(), p.exec.is_some()];
        match kinds.iter().filter(|k| **k).count() {
            0 => self.err(
                at,
                "the probe says nothing to check",
                Some("give one of `http: /healthz`, `tcp: http` or `exec: [cmd]`".into()),
            ),
            1 => {}
            _ => self.err(at, "give only one of `http`, `tcp` and `exec`", None),
        }
        if let Some(path) = &p.http {
            if !path.starts_with('/') {
                self.err(
                    &at.k("http"),
                    format!("path `{path}` must start with '/'"),
                    Some(format!("write `/{path}`")),
                );
            }
            match &p.port {
                Some(port) => self.port_ref(&at.k("port"), c, port),
                None if c.ports.is_empty() => self.err(
                    at,
                    "an HTTP probe needs a port",
                    Some("add `ports:` to the component or `port:` to the probe".into()),
                ),
                None => {}
            }
        }
        if let Some(port) = &p.tcp {
            self.port_ref(&at.k("tcp"), c, port);
        }
        if p.exec.as_ref().is_some_and(Vec::is_empty) {
            self.err(&at.k("exec"), "an empty command", None);
        }
        if p.failure_threshold == Some(0) {
            self.err(&at.k("failureThreshold"), "must be at least 1", None);
        }
    }

    /// A port given by name must be one of the component's; a number is taken as is.
    fn port_ref(&mut self, at: &At, c: &Component, port: &str) {
        if let Ok(n) = port.parse::<u32>() {
            if n == 0 || n > 65535 {
                self.err(at, format!("{n} is not a port"), None);
            }
            return;
        }
        if !c.ports.contains_key(port) {
            let names: Vec<&str> = c.ports.keys().map(String::as_str).collect();
            let help = match super::schema_check::closest(port, &names) {
                Some(best) => format!("did you mean `{best}`?"),
                None if names.is_empty() => "the component declares no `ports:`".into(),
                None => format!("declared ports: {}", names.join(", ")),
            };
            self.err(at, format!("no port named `{port}`"), Some(help));
        }
    }

    fn dns(&mut self, spec: &KubeApp, dns: &Dns) {
        let at = root().k("dns");
        let zone = dns.zone.trim_end_matches('.');
        let name = dns.name.trim_end_matches('.');
        if let Err(why) = dns1123_subdomain(zone) {
            self.err(&at.k("zone"), format!("zone `{}` {why}", dns.zone), None);
        }
        if let Err(why) = dns1123_subdomain(name) {
            self.err(&at.k("name"), format!("name `{}` {why}", dns.name), None);
        } else if name == zone {
            // The weighted records are CNAMEs, which DNS does not allow at a zone's apex.
            self.err(
                &at.k("name"),
                format!(
                    "`{}` is the zone's apex; paved's weighted CNAME records cannot live there",
                    dns.name
                ),
                Some(format!(
                    "use a name inside the zone, e.g. `{}.{zone}`",
                    spec.name
                )),
            );
        } else if !name.ends_with(&format!(".{zone}")) {
            self.err(
                &at.k("name"),
                format!("`{}` is not inside the zone `{}`", dns.name, dns.zone),
                Some(format!("e.g. `{}.{zone}`", spec.name)),
            );
        }
        if dns.ttl > 172_800 {
            self.err(
                &at.k("ttl"),
                format!("ttl {} is over Route53's 172800 s", dns.ttl),
                None,
            );
        }
        let has_lb = spec
            .components
            .values()
            .any(|c| c.service.as_ref().is_some_and(|s| s.public || s.internal));
        if !has_lb {
            self.err(
                &at,
                "the app has a DNS name but no load-balanced service for it to point at",
                Some(
                    "give a component `service: { port: 80, public: true }`, or remove `dns`"
                        .into(),
                ),
            );
        }
    }

    fn deploy(&mut self, spec: &KubeApp) {
        let at = root().k("deploy");
        let d = &spec.deploy;
        let steps = &d.traffic.steps;
        let sat = at.k("traffic").k("steps");
        if steps.is_empty() {
            self.err(
                &sat,
                "no traffic steps",
                Some("e.g. `[10, 50, 100]`, or `[100]` to switch at once".into()),
            );
        }
        for (i, step) in steps.iter().enumerate() {
            if *step == 0 || *step > 100 {
                self.err(
                    &sat.i(i),
                    format!("{step}% is not a step"),
                    Some("percentages from 1 to 100".into()),
                );
            } else if i > 0 && *step <= steps[i - 1] {
                self.err(
                    &sat.i(i),
                    format!(
                        "{step}% does not rise above the step before ({}%)",
                        steps[i - 1]
                    ),
                    None,
                );
            }
        }
        if steps.last().is_some_and(|s| *s != 100) {
            self.err(
                &sat,
                "the last step must be 100",
                Some("traffic ends all on the new cluster".into()),
            );
        }
        let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        for (i, check) in d.verify.checks.iter().enumerate() {
            let cat = at.k("verify").k("checks").i(i);
            if !check.http.starts_with('/') {
                self.err(
                    &cat.k("http"),
                    format!("path `{}` must start with '/'", check.http),
                    None,
                );
            }
            if !methods.contains(&check.method.as_str()) {
                self.err(
                    &cat.k("method"),
                    format!("`{}` is not an HTTP method", check.method),
                    Some(format!("one of {}", methods.join(", "))),
                );
            }
            if !(100..=599).contains(&check.expect) {
                self.err(
                    &cat.k("expect"),
                    format!("{} is not an HTTP status", check.expect),
                    None,
                );
            }
        }
        let has_lb = spec
            .components
            .values()
            .any(|c| c.service.as_ref().is_some_and(|s| s.public || s.internal));
        if !d.verify.checks.is_empty() && !has_lb {
            self.err(
                &at.k("verify").k("checks"),
                "HTTP checks need a load-balanced service to send them to",
                Some("give a component `service: { port: 80, public: true }`".into()),
            );
        }
    }

    fn role_arn(&mut self, at: &At, arn: &str) {
        if iam_arn(arn, &["role"]).is_none() {
            self.err(
                at,
                format!("`{arn}` is not an IAM role ARN"),
                Some("e.g. `arn:aws:iam::123456789012:role/my-role`".into()),
            );
        }
    }

    /// An access entry's principal: an IAM role or user, never a session of an assumed role
    /// (EKS refuses those in CreateAccessEntry).
    fn principal_arn(&mut self, at: &At, arn: &str) {
        if iam_arn(arn, &["role", "user"]).is_some() {
            return;
        }
        let help = if arn.contains(":assumed-role/") {
            "name the role itself, e.g. `arn:aws:iam::123456789012:role/deployer`, not a session of it"
        } else {
            "e.g. `arn:aws:iam::123456789012:role/deployer` or `arn:aws:iam::123456789012:user/alice`"
        };
        self.err(
            at,
            format!("`{arn}` is not an IAM role or user ARN"),
            Some(help.into()),
        );
    }
}

/// The account and the name of an IAM ARN of one of the `kinds` (`role`, `user`).
fn iam_arn<'a>(arn: &'a str, kinds: &[&str]) -> Option<(&'a str, &'a str)> {
    let (_partition, rest) = arn.strip_prefix("arn:")?.split_once(":iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let (kind, name) = resource.split_once('/')?;
    (account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && kinds.contains(&kind)
        && !name.is_empty())
    .then_some((account, name))
}

fn dns1123_label(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > max {
        return Err(format!("is {} characters long (at most {max})", name.len()));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may only hold lowercase letters, digits and '-'".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

fn dns1035_label(name: &str, max: usize) -> Result<(), String> {
    dns1123_label(name, max)?;
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a letter".into());
    }
    Ok(())
}

fn dns1123_subdomain(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err("is longer than 253 characters".into());
    }
    for label in name.split('.') {
        dns1123_label(label, 63).map_err(|why| format!("has a label `{label}` that {why}"))?;
    }
    Ok(())
}

fn suggest_label(name: &str) -> String {
    let mut out: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let out = out.trim_matches('-');
    let out = out.trim_start_matches(|c: char| c.is_ascii_digit());
    if out.is_empty() {
        "web".into()
    } else {
        out.chars().take(MAX_APP_NAME).collect()
    }
}

fn env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn iana_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fn region_like(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn aws_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|hex| {
        (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The architecture of an EC2 instance type, from its family (`m7g` is Graviton, `m7i` Intel),
/// or `None` if it does not look like one.
pub fn instance_arch(instance_type: &str) -> Option<Arch> {
    let (family, size) = instance_type.split_once('.')?;
    if size.is_empty()
        || !size
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return None;
    }
    let digit = family.find(|c: char| c.is_ascii_digit())?;
    let (series, rest) = family.split_at(digit);
    if series.is_empty() || !series.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let attributes = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    if !attributes
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return None;
    }
    // Graviton families carry a `g` among their attributes (m7g, c7gn, r8gd); `a1` is the first.
    if attributes.contains('g') || family == "a1" {
        Some(Arch::Arm64)
    } else {
        Some(Arch::Amd64)
    }
}

fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "amd64",
        Arch::Arm64 => "arm64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_families() {
        assert_eq!(instance_arch("m7i.large"), Some(Arch::Amd64));
        assert_eq!(instance_arch("m7g.large"), Some(Arch::Arm64));
        assert_eq!(instance_arch("c7gn.xlarge"), Some(Arch::Arm64));
        assert_eq!(instance_arch("t3a.micro"), Some(Arch::Amd64));
        assert_eq!(instance_arch("a1.medium"), Some(Arch::Arm64));
        assert_eq!(instance_arch("large"), None);
        assert_eq!(instance_arch("M7i.large"), None);
    }

    #[test]
    fn names() {
        assert!(dns1123_label("hello-1", 40).is_ok());
        assert!(dns1123_label("Hello", 40).is_err());
        assert!(dns1123_label("-a", 40).is_err());
        assert!(dns1035_label("1web", 63).is_err());
        assert!(iana_service_name("http"));
        assert!(!iana_service_name("8080"));
        assert!(!iana_service_name("a-very-long-port-name"));
        assert_eq!(suggest_label("My_App"), "my-app");
        assert!(region_like("us-east-1"));
        assert!(!region_like("useast1"));
    }
}

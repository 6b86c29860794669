//! The project's deployment rules (architecture §1, §4, §7), checked on rendered
//! objects. Schema validity says a manifest *can* be applied; these say it
//! deploys *this* system correctly.
//!
//! [`check_objects`] holds the rules every object must meet wherever it is
//! rendered (a SpinApp's annotations, a Component's scopes, …).
//! [`check_deployable`] adds the rules that relate objects to each other and
//! to the rest of the repository (spin.toml, scripts/deploy); it runs on the
//! overlays, the renderings that are actually applied.
//!
//! The files, one job each:
//! - `mod.rs` (this file): the names every rule shares ([`APP_IDS`],
//!   [`SIDECARLESS`], [`UI_PATHS`], [`PLACEHOLDER_IMAGE`]);
//! - `facts.rs`: [`RepoFacts`], what the rules read from spin.toml and
//!   scripts/deploy ([`deploy_secrets`]);
//! - `fields.rs`: the small accessors the rules read objects with;
//! - `objects.rs`: [`check_objects`], which hands each object to the rules
//!   of its kind and checks the kinds with only a rule or two itself
//!   (Secret, Configuration, KafkaTopic, KafkaNodePool);
//!   - `spinapp.rs`: a SpinApp (app-id, shim, Dapr pod annotations, probes,
//!     resources);
//!   - `component.rs`: a Dapr Component (scopes, secretKeyRefs, type and
//!     metadata of each component the system uses);
//!   - `delivery.rs`: a Dapr Subscription (dead-letter topic, routes) and
//!     the Resiliency of its deliveries;
//!   - `ingress.rs`: the Ingress (only /api, and / and /assets to web);
//!   - `workload.rs`: a Deployment or StatefulSet (selector, pinned images,
//!     probes, resources);
//! - `deployable.rs`: [`check_deployable`], the cross-references of an
//!   overlay's objects, with
//!   - `secrets.rs`: the secrets the objects refer to
//!     ([`referenced_secrets`]) and the ones a service account may read;
//!   - `kafka.rs`: a Strimzi Kafka cluster (node pools, topic operator,
//!     replication against its brokers).

mod component;
mod delivery;
mod deployable;
mod facts;
mod fields;
mod ingress;
mod kafka;
mod objects;
mod secrets;
mod spinapp;
mod workload;

pub use deployable::check_deployable;
pub use facts::{deploy_secrets, RepoFacts};
pub use objects::check_objects;
pub use secrets::referenced_secrets;

/// The Dapr app-ids, one per component with a sidecar (architecture §1).
pub const APP_IDS: [&str; 6] = [
    "task-api",
    "audit",
    "notify",
    "recurrence",
    "sync-relay",
    "identity",
];

/// Components that run as a SpinApp without a Dapr sidecar (architecture §1:
/// `web` serves the UI, embedded at build time; it uses no building block).
pub const SIDECARLESS: [&str; 1] = ["web"];

/// Paths outside `/api` the Ingress may route, all to `web`: exactly `/`
/// and the hashed files under `/assets`.
pub const UI_PATHS: [(&str, &str); 2] = [("/", "Exact"), ("/assets", "Prefix")];

/// The image every SpinApp carries in k8s/apps; each overlay replaces it.
pub const PLACEHOLDER_IMAGE: &str = "registry.invalid/todo:set-by-overlay";

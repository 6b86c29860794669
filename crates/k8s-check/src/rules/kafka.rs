//! A Strimzi Kafka cluster in a deployable rendering: its node pools (KRaft
//! brokers and controllers), the topic operator, and replication settings
//! the brokers can meet.

use std::collections::BTreeMap;

use crate::kustomize::Resource;

use super::fields::{int, of_kind, s, strings};

pub(super) fn kafka_cluster(
    rs: &[Resource],
    k: &Resource,
    topics: &BTreeMap<String, &Resource>,
    out: &mut Vec<String>,
) {
    let at = k.describe();
    let name = k.name();
    let pools: Vec<&Resource> = of_kind(rs, "kafka.strimzi.io", "KafkaNodePool")
        .filter(|p| s(&p.value, "/metadata/labels/strimzi.io~1cluster") == Some(name))
        .collect();
    let count = |role: &str| -> i64 {
        pools
            .iter()
            .filter(|p| strings(&p.value, "/spec/roles").iter().any(|r| r == role))
            .map(|p| int(&p.value, "/spec/replicas").unwrap_or(0))
            .sum()
    };
    let brokers = count("broker");
    let controllers = count("controller");
    if brokers < 1 || controllers < 1 {
        out.push(format!("{at}: node pools must provide brokers and controllers (KRaft), have {brokers} and {controllers}"));
    }
    if k.value
        .pointer("/spec/entityOperator/topicOperator")
        .is_none()
    {
        out.push(format!(
            "{at}: entityOperator.topicOperator is required to reconcile the KafkaTopics"
        ));
    }
    let config = |key: &str| int(&k.value, &format!("/spec/kafka/config/{key}"));
    for key in [
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "default.replication.factor",
    ] {
        if let Some(n) = config(key) {
            if n > brokers {
                out.push(format!("{at}: {key} {n} exceeds the {brokers} broker(s)"));
            }
        }
    }
    let cluster_isr = config("min.insync.replicas").unwrap_or(1);
    for t in topics
        .values()
        .filter(|t| s(&t.value, "/metadata/labels/strimzi.io~1cluster") == Some(name))
    {
        let replicas = int(&t.value, "/spec/replicas").unwrap_or(1);
        if replicas > brokers {
            out.push(format!(
                "{}: replicas {replicas} exceeds the {brokers} broker(s)",
                t.describe()
            ));
        }
        let isr = int(&t.value, "/spec/config/min.insync.replicas").unwrap_or(cluster_isr);
        if isr > replicas {
            out.push(format!(
                "{}: min.insync.replicas {isr} > replicas {replicas}: every write would fail",
                t.describe()
            ));
        }
    }
    for t in topics.values() {
        if let Some(c) = s(&t.value, "/metadata/labels/strimzi.io~1cluster") {
            if !rs.iter().any(|r| r.kind() == "Kafka" && r.name() == c) {
                out.push(format!(
                    "{}: cluster {c} is not in the rendering",
                    t.describe()
                ));
            }
        }
    }
}

//! What loadgen prints of its measurements: a phase's failed requests, and
//! the tables of throughput, latency and instantiation per scenario against
//! the baseline's, from each scenario's [`Outcome`].

use std::time::Duration;

use crate::phase::Phase;
use crate::scenarios::Scenario;
use crate::stats::{ms, ratio, table, us, Summary};

/// The figures of one scenario.
pub(crate) struct Outcome {
    pub(crate) scenario: Scenario,
    pub(crate) connections: usize,
    pub(crate) request: String,
    pub(crate) phase: Phase,
    pub(crate) latency: Summary,
    pub(crate) instantiation: Option<Summary>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.phase.latencies.len() as f64 / self.phase.elapsed.as_secs_f64().max(1e-9)
    }
}

pub(crate) fn report_errors(what: &str, phase: &Phase) {
    if let Some(first) = &phase.first_error {
        eprintln!(
            "loadgen: {what}: {} failed requests; first: {first}",
            phase.errors
        );
    }
}

pub(crate) fn print_report(outcomes: &[Outcome], with_instantiation: bool) {
    let Some(base) = outcomes.iter().find(|o| o.scenario == Scenario::Baseline) else {
        return;
    };
    let secs = |d: Duration| d.as_secs_f64();
    println!("\nThroughput and latency (client side, until the last body byte); ratios against the baseline:\n");
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            vec![
                o.scenario.name().to_string(),
                o.request.clone(),
                o.connections.to_string(),
                o.phase.latencies.len().to_string(),
                o.phase.errors.to_string(),
                (o.phase.bytes / (o.phase.latencies.len() as u64).max(1)).to_string(),
                format!("{:.0}", o.rate()),
                ms(o.latency.p50),
                ms(o.latency.p99),
                ratio(o.rate(), base.rate()),
                ratio(secs(o.latency.p50), secs(base.latency.p50)),
                ratio(secs(o.latency.p99), secs(base.latency.p99)),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "scenario",
                "request",
                "conns",
                "requests",
                "errors",
                "body B",
                "req/s",
                "p50 ms",
                "p99 ms",
                "req/s vs base",
                "p50 vs base",
                "p99 vs base",
            ],
            &rows
        )
    );

    if !with_instantiation {
        println!("\n(no --instantiate-log: instantiation times not reported)");
        return;
    }
    let base_inst = base.instantiation.unwrap_or_default();
    println!("\nInstantiation per request (devstack `instantiate_us`: store + instantiate_async), its ratio to the baseline's and its share of the request latency:\n");
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            let inst = o.instantiation.unwrap_or_default();
            vec![
                o.scenario.name().to_string(),
                inst.count.to_string(),
                us(inst.p50),
                us(inst.p99),
                us(inst.mean),
                ratio(secs(inst.p50), secs(base_inst.p50)),
                percent(secs(inst.p50), secs(o.latency.p50)),
                percent(secs(inst.mean), secs(o.latency.mean)),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "scenario",
                "instances",
                "p50 µs",
                "p99 µs",
                "mean µs",
                "p50 vs base",
                "share of p50 latency",
                "share of mean latency",
            ],
            &rows
        )
    );
}

fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "-".into()
    }
}

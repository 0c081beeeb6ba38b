//! The demo's report: per service its phase and conditions (a denial shows here), per cluster the
//! objects read back from its API server with their field managers, and whether everything ended
//! as the examples expect. Gathering does I/O; judging and rendering are pure.

use serde_json::Value;

use super::apply::{Applied, OtherDocument, ServiceEntry};
use super::examples::Expectation;
use super::fleet_policies::FleetPolicyShown;
use super::pivot::PivotShown;
use super::trace::TraceShown;
use crate::lattice::ServiceView;
use crate::lattice::objects::ObjectRef;

use super::FIELD_MANAGER;

/// One object the agent reported, as found (or not) in its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLine {
    /// The object.
    pub reference: ObjectRef,
    /// The spec it belongs to: a service (`namespace/name`) or `LatticeCluster <name>`.
    pub service: String,
    /// What the agent reported (`Applied`, `Failed`, …).
    pub reported: String,
    /// Its field managers (`manager (operation)`), `None` if it is not in the cluster.
    pub managers: Option<Vec<String>>,
}

impl ObjectLine {
    /// Whether it is in the cluster with fields applied by Lattice.
    pub fn applied_by_lattice(&self) -> bool {
        self.managers.as_ref().is_some_and(|managers| {
            managers
                .iter()
                .any(|m| m == &format!("{FIELD_MANAGER} (Apply)"))
        })
    }
}

/// One cluster: what `get clusters` says about it and the objects found in it.
#[derive(Debug, Clone)]
pub struct ClusterSection {
    /// Cluster name.
    pub name: String,
    /// Its entry of `latticectl get clusters -o json`.
    pub summary: Value,
    /// Objects of the services placed on it, and of the LatticeClusters it manages.
    pub objects: Vec<ObjectLine>,
}

/// One LatticeService: how it was applied, its status, and the verdict.
#[derive(Debug, Clone)]
pub struct ServiceSection {
    /// The apply.
    pub entry: ServiceEntry,
    /// Its status (absent if the cell never stored it).
    pub view: Option<ServiceView>,
    /// `Ok` if it ended as expected, else why not.
    pub verdict: Result<String, String>,
}

/// What the drift step did and how it ended.
#[derive(Debug, Clone)]
pub struct DriftShown {
    /// The service whose object was deleted (`namespace/name`).
    pub service: String,
    /// The cluster it runs on.
    pub cluster: String,
    /// `Ok` with what happened, or what did not.
    pub outcome: Result<String, String>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// `latticectl get clusters` as printed.
    pub clusters_table: String,
    /// `latticectl get services` as printed.
    pub services_table: String,
    /// `latticectl get cedarpolicies` as printed (absent if the cell has no such command).
    pub policies_table: Option<String>,
    /// `latticectl get quotas` as printed (absent if the cell has no such command).
    pub quotas_table: Option<String>,
    /// `latticectl get latticeclusters` as printed (when the examples hold LatticeClusters).
    pub lattice_clusters_table: Option<String>,
    /// `latticectl compliance report` as printed (when the examples hold compliance profiles).
    pub compliance_table: Option<String>,
    /// Per service.
    pub services: Vec<ServiceSection>,
    /// Per cluster.
    pub clusters: Vec<ClusterSection>,
    /// Documents of other kinds.
    pub others: Vec<OtherDocument>,
    /// The applied fleet policies and on which clusters their derived object was found.
    pub fleet_policies: Vec<FleetPolicyShown>,
    /// The trace of one Ready service's apply, if one was Ready.
    pub trace: Option<TraceShown>,
    /// The drift step (a Service deleted by hand and put back by its agent), if it ran.
    pub drift: Option<DriftShown>,
    /// The pivot step (the example LatticeCluster moved to itself), if it ran.
    pub pivot: Option<PivotShown>,
}

/// Whether a service ended as its example expects; `Ok` says how, `Err` what went wrong.
pub fn judge(
    entry: &ServiceEntry,
    view: Option<&ServiceView>,
    objects: &[&ObjectLine],
) -> Result<String, String> {
    let expect = entry.expect;
    let view = match (&entry.applied, view) {
        (Applied::NotSent(reason), _) => return Err(format!("not applied: {reason}")),
        (Applied::Refused(message), _) if expect == Expectation::Refused => {
            return Ok(format!("refused by the cell, as expected: {message}"));
        }
        (Applied::Refused(message), _) => {
            return Err(format!("refused by the cell: {message}"));
        }
        (Applied::Accepted(_), _) if expect == Expectation::Refused => {
            return Err("accepted by the cell, but the example expects a refusal".to_owned());
        }
        (Applied::Accepted(_), None) => {
            return Err("accepted, but the cell has no status for it".to_owned());
        }
        (Applied::Accepted(_), Some(view)) => view,
    };
    let denied = view.conditions.iter().find(|c| c.reports_a_problem());
    match (expect, view.phase.as_str(), denied) {
        (Expectation::Ready, "Ready", None) => {
            let missing: Vec<String> = objects
                .iter()
                .filter(|o| !o.applied_by_lattice())
                .map(|o| format!("{} {}", o.reference.kind, o.reference.path()))
                .collect();
            if objects.is_empty() {
                Err("Ready, but the agent reported no objects".to_owned())
            } else if missing.is_empty() {
                Ok(format!(
                    "Ready: {} objects applied by field manager {FIELD_MANAGER}",
                    objects.len()
                ))
            } else {
                Err(format!(
                    "Ready, but not in the cluster as applied by {FIELD_MANAGER}: {}",
                    missing.join(", ")
                ))
            }
        }
        (Expectation::Failed, phase, Some(condition)) => Ok(format!(
            "{phase}, as expected: {} {} ({}), see the conditions below",
            condition.type_, condition.status, condition.reason
        )),
        (Expectation::Failed, "Failed", None) => Ok("Failed, as expected".to_owned()),
        (_, phase, Some(condition)) => Err(format!(
            "{phase}, expected {expect}: {} {} ({}), see the conditions below",
            condition.type_, condition.status, condition.reason
        )),
        (_, phase, None) => Err(format!("{phase}, expected {expect}")),
    }
}

impl Report {
    /// Whether every service and document ended as expected.
    pub fn all_as_expected(&self) -> bool {
        self.services.iter().all(|s| s.verdict.is_ok())
            && self.others.iter().all(|o| o.acceptable)
            && self
                .fleet_policies
                .iter()
                .all(FleetPolicyShown::all_delivered)
            && self
                .trace
                .as_ref()
                .is_none_or(TraceShown::crosses_cell_and_agent)
            && self.drift.as_ref().is_none_or(|d| d.outcome.is_ok())
            && self.pivot.as_ref().is_none_or(|p| p.outcome.is_ok())
    }

    /// The report as text for people.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let rule = "═".repeat(78);
        out.push(rule.clone());
        out.push(" Lattice demo — what was applied where".to_owned());
        out.push(rule);
        out.push(String::new());
        out.push("$ latticectl get clusters".to_owned());
        out.push(self.clusters_table.trim_end().to_owned());
        out.push(String::new());
        if let Some(policies) = &self.policies_table {
            out.push("$ latticectl get cedarpolicies".to_owned());
            out.push(policies.trim_end().to_owned());
            out.push(String::new());
        }
        if let Some(quotas) = &self.quotas_table {
            out.push("$ latticectl get quotas".to_owned());
            out.push(quotas.trim_end().to_owned());
            out.push(String::new());
        }
        if let Some(clusters) = &self.lattice_clusters_table {
            out.push("$ latticectl get latticeclusters".to_owned());
            out.push(clusters.trim_end().to_owned());
            out.push(String::new());
        }
        if let Some(compliance) = &self.compliance_table {
            out.push("$ latticectl compliance report".to_owned());
            out.push(compliance.trim_end().to_owned());
            out.push(String::new());
        }
        out.push("$ latticectl get services".to_owned());
        out.push(self.services_table.trim_end().to_owned());
        out.push(String::new());
        if !self.others.is_empty() {
            out.push("Policies and other documents (applied before the services)".to_owned());
            for other in &self.others {
                let (mark, outcome) = match (&other.outcome, other.acceptable) {
                    (Ok(result), _) => ("✓", result.as_str()),
                    (Err(reason), true) => ("-", reason.as_str()),
                    (Err(reason), false) => ("✗", reason.as_str()),
                };
                let mut lines = outcome.lines();
                let first = lines.next().unwrap_or_default();
                out.push(format!(
                    "  {mark} {}  ({}): {first}",
                    other.what, other.origin
                ));
                out.extend(lines.map(|l| format!("      {l}")));
            }
            out.push(String::new());
        }
        if !self.fleet_policies.is_empty() {
            out.push(
                "Fleet policies (their derived object read back from every cluster)".to_owned(),
            );
            for policy in &self.fleet_policies {
                out.push(format!("  {}", policy.line()));
            }
            out.push(String::new());
        }
        out.push("Services (status from the cell)".to_owned());
        for section in &self.services {
            render_service(section, &mut out);
        }
        for cluster in &self.clusters {
            out.push(String::new());
            render_cluster(cluster, &mut out);
        }
        if let Some(trace) = &self.trace {
            out.push(String::new());
            out.extend(trace.render());
        }
        if let Some(drift) = &self.drift {
            out.push(String::new());
            out.push("Drift correction (the agent keeps its cluster at the intent)".to_owned());
            match &drift.outcome {
                Ok(what) => out.push(format!("  ✓ {}: {what}", drift.service)),
                Err(why) => out.push(format!("  ✗ {} on {}: {why}", drift.service, drift.cluster)),
            }
        }
        if let Some(pivot) = &self.pivot {
            out.push(String::new());
            render_pivot(pivot, &mut out);
        }
        out.push(String::new());
        out.push(self.summary());
        out.join("\n")
    }

    fn summary(&self) -> String {
        let good = self.services.iter().filter(|s| s.verdict.is_ok()).count();
        let count = |phase: &str| {
            self.services
                .iter()
                .filter(|s| s.view.as_ref().is_some_and(|v| v.phase == phase))
                .count()
        };
        let refused = self
            .services
            .iter()
            .filter(|s| matches!(s.entry.applied, Applied::Refused(_)))
            .count();
        let objects: usize = self.clusters.iter().map(|c| c.objects.len()).sum();
        let found: usize = self
            .clusters
            .iter()
            .flat_map(|c| &c.objects)
            .filter(|o| o.managers.is_some())
            .count();
        let verdict = if self.all_as_expected() {
            "OK: everything ended as the examples expect"
        } else {
            "FAILED: see what is marked ✗ above"
        };
        format!(
            "{verdict}.\n{good} of {} services as expected ({} Ready, {} Failed, {refused} refused); {found} of {objects} reported objects found in {} clusters.",
            self.services.len(),
            count("Ready"),
            count("Failed"),
            self.clusters.len()
        )
    }
}

/// The pivot step: the command's lines, the pivot in one line, the history `describe` prints.
fn render_pivot(pivot: &PivotShown, out: &mut Vec<String>) {
    out.push(format!(
        "Pivot (LatticeCluster {0}'s Cluster API objects move from {1} to {0} itself, after the sections above)",
        pivot.cluster, pivot.manager
    ));
    match &pivot.outcome {
        Ok(done) => {
            out.push(format!("  $ latticectl cluster pivot {}", pivot.cluster));
            out.extend(done.ctl_lines.lines().map(|l| format!("  {l}")));
            out.push(format!(
                "  ✓ LatticeCluster {} pivoted: {}",
                pivot.cluster, done.summary
            ));
            out.push(format!(
                "  $ latticectl describe cluster {}   (its pivot history)",
                pivot.cluster
            ));
            out.extend(done.history.lines().map(|l| format!("  {l}")));
        }
        Err(why) => {
            let mut lines = why.lines();
            out.push(format!(
                "  ✗ LatticeCluster {}: {}",
                pivot.cluster,
                lines.next().unwrap_or_default()
            ));
            out.extend(lines.map(|l| format!("      {l}")));
        }
    }
}

fn render_service(section: &ServiceSection, out: &mut Vec<String>) {
    let entry = &section.entry;
    let mark = if section.verdict.is_ok() {
        "✓"
    } else {
        "✗"
    };
    out.push(format!(
        "  {mark} {}  ({} → {})",
        entry.key(),
        entry.file,
        entry.cluster.as_deref().unwrap_or("no cluster")
    ));
    match &section.verdict {
        Ok(text) | Err(text) => out.extend(text.lines().map(|l| format!("      {l}"))),
    }
    let Some(view) = &section.view else {
        return;
    };
    let revision = view
        .revision
        .as_deref()
        .map_or("-".to_owned(), |r| r.chars().take(12).collect());
    out.push(format!(
        "      phase {}, generation {} (observed {}), revision {revision}",
        view.phase, view.generation, view.observed_generation
    ));
    for c in &view.conditions {
        out.push(format!(
            "      {:<16} {:<7} {:<16} {}",
            c.type_, c.status, c.reason, c.message
        ));
    }
    for delivery in &view.deliveries {
        for object in delivery.objects.iter().filter(|o| o.outcome != "Applied") {
            out.push(format!(
                "      {} {} {}: {}",
                object.outcome,
                object.reference.kind,
                object.reference.path(),
                object.message.as_deref().unwrap_or("")
            ));
        }
    }
}

fn render_cluster(cluster: &ClusterSection, out: &mut Vec<String>) {
    out.push(format!(
        "Cluster {} — objects read back from its API server (agent {}, Kubernetes {}, {})",
        cluster.name,
        text(&cluster.summary["agentVersion"]),
        text(&cluster.summary["kubernetesVersion"]),
        if cluster.summary["connected"] == true {
            "connected"
        } else {
            "NOT connected"
        }
    ));
    if cluster.objects.is_empty() {
        out.push(format!("  (no service is placed on {})", cluster.name));
        return;
    }
    let rows: Vec<[String; 5]> = cluster
        .objects
        .iter()
        .map(|o| {
            let managers = match &o.managers {
                Some(managers) => managers.join(", "),
                None => format!("NOT FOUND (agent reported {})", o.reported),
            };
            [
                o.reference.kind.clone(),
                o.reference.api_version.clone(),
                o.reference.path(),
                managers,
                o.service.clone(),
            ]
        })
        .collect();
    out.extend(table(
        [
            "KIND",
            "APIVERSION",
            "NAMESPACE/NAME",
            "FIELD MANAGERS",
            "SPEC",
        ],
        &rows,
    ));
}

/// Left-aligned columns, two spaces apart, indented by two.
fn table<const N: usize>(headers: [&str; N], rows: &[[String; N]]) -> Vec<String> {
    let mut widths = headers.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("  {}", padded.join("  ").trim_end())
    };
    let mut lines = vec![line(headers.to_vec())];
    lines.extend(
        rows.iter()
            .map(|row| line(row.iter().map(String::as_str).collect())),
    );
    lines
}

fn text(value: &Value) -> String {
    match value.as_str() {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::ServiceView;
    use serde_json::json;

    fn entry(expect: Expectation, applied: Applied) -> ServiceEntry {
        ServiceEntry {
            file: "examples/hello.yaml".into(),
            expect,
            namespace: "demo".into(),
            name: "hello".into(),
            cluster: Some("edge-1".into()),
            applied,
        }
    }

    fn view(phase: &str, delivered: &str) -> ServiceView {
        ServiceView::from_json(&json!({
            "metadata": {"name": "hello", "namespace": "demo", "generation": 1,
                         "labels": {"lattice.dev/cluster": "edge-1"}},
            "status": {"phase": phase, "observedGeneration": 1, "conditions": [
                {"type": "Derived", "status": "True", "reason": "Derived", "message": "ok"},
                {"type": "Delivered", "status": delivered, "reason": "X", "message": "m"}]}
        }))
    }

    fn object(managers: Option<Vec<&str>>) -> ObjectLine {
        ObjectLine {
            reference: ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("demo".into()),
                name: "hello".into(),
            },
            service: "demo/hello".into(),
            reported: "Applied".into(),
            managers: managers.map(|m| m.into_iter().map(str::to_owned).collect()),
        }
    }

    #[test]
    fn ready_needs_every_reported_object_in_the_cluster_applied_by_lattice() {
        let accepted = entry(Expectation::Ready, Applied::Accepted("created".into()));
        let ready = view("Ready", "True");
        let good = object(Some(vec!["lattice (Apply)"]));
        assert!(judge(&accepted, Some(&ready), &[&good]).is_ok());
        let missing = object(None);
        let err = judge(&accepted, Some(&ready), &[&good, &missing]).unwrap_err();
        assert!(err.contains("Deployment demo/hello"), "{err}");
        let foreign = object(Some(vec!["kubectl (Update)"]));
        assert!(judge(&accepted, Some(&ready), &[&foreign]).is_err());
        assert!(judge(&accepted, Some(&ready), &[]).is_err());
    }

    #[test]
    fn quota_exceeded_false_is_good_news_and_true_is_a_failure() {
        let with_quota = |status: &str| {
            ServiceView::from_json(&json!({
                "metadata": {"name": "hello", "namespace": "demo", "generation": 1,
                             "labels": {"lattice.dev/cluster": "edge-1"}},
                "status": {"phase": "Ready", "observedGeneration": 1, "conditions": [
                    {"type": "QuotaExceeded", "status": status, "reason": "R", "message": "m"},
                    {"type": "Delivered", "status": "True", "reason": "Applied", "message": "m"}]}
            }))
        };
        let good = object(Some(vec!["lattice (Apply)"]));
        let ready = entry(Expectation::Ready, Applied::Accepted("created".into()));
        assert!(judge(&ready, Some(&with_quota("False")), &[&good]).is_ok());
        let err = judge(&ready, Some(&with_quota("True")), &[&good]).unwrap_err();
        assert!(err.contains("QuotaExceeded True (R)"), "{err}");
    }

    #[test]
    fn a_denial_is_a_failure_unless_the_example_expects_it() {
        let denied = view("Pending", "False");
        let good = object(Some(vec!["lattice (Apply)"]));
        let ready = entry(Expectation::Ready, Applied::Accepted("created".into()));
        let err = judge(&ready, Some(&denied), &[&good]).unwrap_err();
        assert!(err.contains("Delivered False (X)"), "{err}");
        let failed = entry(Expectation::Failed, Applied::Accepted("created".into()));
        assert!(judge(&failed, Some(&denied), &[]).is_ok());
        assert!(judge(&failed, Some(&view("Ready", "True")), &[&good]).is_err());
    }

    #[test]
    fn refusals_and_unsent_documents_are_judged_by_the_expectation() {
        let refused = Applied::Refused("error: invalid spec".into());
        assert!(judge(&entry(Expectation::Ready, refused.clone()), None, &[]).is_err());
        assert!(judge(&entry(Expectation::Refused, refused), None, &[]).is_ok());
        let accepted = Applied::Accepted("created".into());
        assert!(judge(&entry(Expectation::Refused, accepted), None, &[]).is_err());
        let unsent = Applied::NotSent("no label".into());
        assert!(judge(&entry(Expectation::Ready, unsent), None, &[]).is_err());
    }

    #[test]
    fn tables_align_columns() {
        let lines = table(
            ["KIND", "NAME"],
            &[
                ["Deployment".into(), "a".into()],
                ["SA".into(), "bb".into()],
            ],
        );
        assert_eq!(
            lines,
            vec!["  KIND        NAME", "  Deployment  a", "  SA          bb"]
        );
    }
}

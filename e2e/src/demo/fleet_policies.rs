//! The fleet policies the demo applied, read back from every cluster: a `LatticeFleetPolicy`
//! derives one `CiliumClusterwideNetworkPolicy` `lattice-fleet-<name>` that every connected
//! agent applies (decision 0048). The report says on how many clusters that object is, as
//! applied by Lattice's field manager.

use std::time::Duration;

use lattice_derive::fleet_policy::{FLEET_POLICY_KIND, object_name};

use super::DemoError;
use super::FIELD_MANAGER;
use super::apply::OtherDocument;
use super::fleet::Fleet;
use crate::lattice::objects::{ObjectRef, field_managers, get_object};
use crate::wait_until;

/// Upper bound for every cluster to hold a fleet policy's object; after it the report shows
/// where it is missing. It turns a hang into a report, it times nothing.
const DELIVERY_LIMIT: Duration = Duration::from_secs(120);

/// One applied `LatticeFleetPolicy` and where its derived object was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetPolicyShown {
    /// The policy's name.
    pub name: String,
    /// The derived object every cluster should hold.
    pub object: ObjectRef,
    /// Clusters whose API server holds it, applied by Lattice.
    pub delivered: Vec<String>,
    /// Clusters whose API server does not (yet) hold it as applied by Lattice.
    pub missing: Vec<String>,
}

impl FleetPolicyShown {
    /// Whether every cluster holds the derived object.
    pub fn all_delivered(&self) -> bool {
        self.missing.is_empty() && !self.delivered.is_empty()
    }

    /// The report line, e.g. `✓ LatticeFleetPolicy corp-proxy delivered to 2 of 2 clusters: …`.
    pub fn line(&self) -> String {
        let total = self.delivered.len() + self.missing.len();
        let mark = if self.all_delivered() { "✓" } else { "✗" };
        let mut line = format!(
            "{mark} {FLEET_POLICY_KIND} {} delivered to {} of {total} clusters: {} {} read back \
             from each API server, field manager {FIELD_MANAGER}",
            self.name,
            self.delivered.len(),
            self.object.kind,
            self.object.name
        );
        if !self.missing.is_empty() {
            line.push_str(&format!("; missing on {}", self.missing.join(", ")));
        }
        line
    }
}

/// The derived object of fleet policy `name`.
fn derived_object(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "cilium.io/v2".to_owned(),
        kind: "CiliumClusterwideNetworkPolicy".to_owned(),
        namespace: None,
        name: object_name(name),
    }
}

/// Waits until every cluster of `fleet` holds the derived object of every fleet policy the
/// demo applied, as applied by Lattice; a policy missing somewhere at the limit marks its
/// document as not as expected, naming the clusters.
pub async fn fleet_policies_delivered(
    fleet: &Fleet,
    others: &mut [OtherDocument],
) -> Result<Vec<FleetPolicyShown>, DemoError> {
    let mut shown = Vec::new();
    for other in others
        .iter_mut()
        .filter(|o| o.kind == FLEET_POLICY_KIND && o.outcome.is_ok())
    {
        let object = derived_object(&other.name);
        let last = std::cell::RefCell::new(None);
        let what = format!("{} on every cluster", object.name);
        let waited = wait_until(&what, DELIVERY_LIMIT, || {
            let (object, last) = (&object, &last);
            async move {
                let found = where_applied(fleet, object).await?;
                let done = found.1.is_empty();
                *last.borrow_mut() = Some(found);
                Ok(done.then_some(()))
            }
        })
        .await;
        match waited {
            Ok(()) | Err(crate::HarnessError::Timeout { .. }) => {}
            Err(err) => return Err(err.into()),
        }
        let (delivered, missing) = last.into_inner().unwrap_or_default();
        let policy = FleetPolicyShown {
            name: other.name.clone(),
            object,
            delivered,
            missing,
        };
        if !policy.all_delivered() {
            other.outcome = Err(format!(
                "applied, but its {} is not on every cluster: {}",
                policy.object.kind,
                policy.line()
            ));
            other.acceptable = false;
        }
        shown.push(policy);
    }
    Ok(shown)
}

/// `(clusters holding `object` applied by Lattice, clusters not holding it so)`.
async fn where_applied(
    fleet: &Fleet,
    object: &ObjectRef,
) -> Result<(Vec<String>, Vec<String>), crate::HarnessError> {
    let applied = format!("{FIELD_MANAGER} (Apply)");
    let (mut delivered, mut missing) = (Vec::new(), Vec::new());
    for cluster in &fleet.clusters {
        let client = cluster.client().await?;
        let found = get_object(&client, object).await?;
        let by_lattice = found
            .as_ref()
            .is_some_and(|o| field_managers(o).contains(&applied));
        if by_lattice {
            delivered.push(cluster.name().to_owned());
        } else {
            missing.push(cluster.name().to_owned());
        }
    }
    Ok((delivered, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_counts_the_clusters_and_names_the_missing_ones() {
        let mut shown = FleetPolicyShown {
            name: "corp-proxy".to_owned(),
            object: derived_object("corp-proxy"),
            delivered: vec!["edge-1".to_owned(), "edge-2".to_owned()],
            missing: Vec::new(),
        };
        assert!(shown.all_delivered());
        assert!(
            shown
                .line()
                .starts_with("✓ LatticeFleetPolicy corp-proxy delivered to 2 of 2 clusters: CiliumClusterwideNetworkPolicy lattice-fleet-corp-proxy"),
            "{}",
            shown.line()
        );
        shown.missing.push("prod-eu-1".to_owned());
        assert!(!shown.all_delivered());
        let line = shown.line();
        assert!(line.starts_with("✗ LatticeFleetPolicy corp-proxy delivered to 2 of 3 clusters"));
        assert!(line.ends_with("missing on prod-eu-1"), "{line}");
        // No cluster at all is not a delivery.
        shown.delivered.clear();
        shown.missing.clear();
        assert!(!shown.all_delivered());
    }
}

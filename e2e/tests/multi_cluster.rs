//! Several test clusters at once are separate worlds: own ports, own processes, own data,
//! own CA (one cluster's credentials mean nothing to another).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use lattice_e2e::TestCluster;
use serde_json::json;

async fn apply_config_map(client: &Client, name: &str, value: &str) -> anyhow::Result<ConfigMap> {
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": name, "namespace": "default" },
        "data": { "owner": value },
    });
    Ok(Api::<ConfigMap>::namespaced(client.clone(), "default")
        .patch(
            name,
            &PatchParams::apply("lattice"),
            &Patch::Apply(config_map),
        )
        .await?)
}

async fn kube_config(cluster: &TestCluster) -> anyhow::Result<kube::Config> {
    let kubeconfig = kube::config::Kubeconfig::read_from(cluster.kubeconfig_path())?;
    Ok(kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?)
}

async fn namespace_names(client: &Client) -> anyhow::Result<BTreeSet<String>> {
    Ok(Api::<Namespace>::all(client.clone())
        .list(&Default::default())
        .await?
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect())
}

#[tokio::test]
async fn two_clusters_do_not_see_each_others_objects() -> anyhow::Result<()> {
    let (east, west) = tokio::try_join!(TestCluster::start("east"), TestCluster::start("west"))?;
    let (east_client, west_client) = (east.client().await?, west.client().await?);

    let in_east = apply_config_map(&east_client, "only-in-east", "east").await?;
    let in_west = apply_config_map(&west_client, "only-in-west", "west").await?;
    assert_ne!(in_east.uid(), in_west.uid());

    let east_maps = Api::<ConfigMap>::namespaced(east_client.clone(), "default");
    let west_maps = Api::<ConfigMap>::namespaced(west_client.clone(), "default");
    assert!(west_maps.get_opt("only-in-east").await?.is_none());
    assert!(east_maps.get_opt("only-in-west").await?.is_none());

    // The same name in both clusters holds each cluster's own value.
    apply_config_map(&east_client, "shared-name", "east").await?;
    apply_config_map(&west_client, "shared-name", "west").await?;
    let east_value = east_maps.get("shared-name").await?.data.unwrap_or_default();
    let west_value = west_maps.get("shared-name").await?.data.unwrap_or_default();
    assert_eq!(east_value.get("owner").map(String::as_str), Some("east"));
    assert_eq!(west_value.get("owner").map(String::as_str), Some("west"));

    // Each cluster has its own CA: east's CA does not trust west's serving certificate, and
    // west's API server does not accept east's admin client certificate.
    assert_ne!(east.ca_cert_pem(), west.ca_cert_pem());
    let east_config = kube_config(&east).await?;
    let west_config = kube_config(&west).await?;

    let mut east_trust_at_west = west_config.clone();
    east_trust_at_west.root_cert = east_config.root_cert.clone();
    let untrusted = Api::<ConfigMap>::namespaced(Client::try_from(east_trust_at_west)?, "default")
        .list(&Default::default())
        .await;
    let error = match untrusted {
        Err(error) => format!("{error:?}"),
        Ok(list) => panic!("west's certificate is not from east's CA, yet it answered {list:?}"),
    };
    assert!(error.contains("UnknownIssuer"), "{error}");

    let mut east_identity_at_west = west_config.clone();
    east_identity_at_west.auth_info = east_config.auth_info.clone();
    let stranger =
        Api::<ConfigMap>::namespaced(Client::try_from(east_identity_at_west)?, "default")
            .list(&Default::default())
            .await;
    match stranger {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 401, "{status:?}"),
        other => panic!("east's client certificate must be unauthorized at west, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn three_clusters_run_at_once() -> anyhow::Result<()> {
    let (a, b, c) = tokio::try_join!(
        TestCluster::start("one"),
        TestCluster::start("two"),
        TestCluster::start("three"),
    )?;
    let clusters = [&a, &b, &c];
    for cluster in clusters {
        println!(
            "cluster {} ready at {} after {:?}",
            cluster.name(),
            cluster.server_url(),
            cluster.startup_duration()
        );
    }

    let urls: BTreeSet<&str> = clusters.iter().map(|c| c.server_url()).collect();
    assert_eq!(urls.len(), 3, "each cluster has its own API server port");
    let pids: BTreeSet<u32> = clusters.iter().flat_map(|c| c.pids()).collect();
    assert_eq!(
        pids.len(),
        6,
        "each cluster has its own etcd and kube-apiserver"
    );

    // All three serve at the same time, each only its own namespace.
    let mut clients = Vec::new();
    for cluster in clusters {
        let client = cluster.client().await?;
        let namespace: Namespace = serde_json::from_value(
            json!({ "metadata": { "name": format!("team-{}", cluster.name()) } }),
        )?;
        Api::<Namespace>::all(client.clone())
            .create(&Default::default(), &namespace)
            .await?;
        clients.push((cluster.name(), client));
    }
    for (name, client) in &clients {
        let teams: Vec<String> = namespace_names(client)
            .await?
            .into_iter()
            .filter(|n| n.starts_with("team-"))
            .collect();
        assert_eq!(teams, [format!("team-{name}")]);
    }
    Ok(())
}

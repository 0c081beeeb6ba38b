//! Snapshot tests of the full derived output (objects by layer, mesh membership, demand, Cedar
//! questions) of every example in `examples/`, plus targeted checks of what each example is
//! there to show. Update snapshots with `INSTA_UPDATE=always cargo test -p lattice-derive`
//! and review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{context, example_files, load};
use lattice_derive::{Derived, derive_service};

fn derive(file: &str) -> Derived {
    derive_service(&load(file), &context()).unwrap_or_else(|e| panic!("{file}: {e}"))
}

macro_rules! snapshot_tests {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                insta::assert_yaml_snapshot!(stringify!($test), derive($file));
            }
        )*

        /// Every file in examples/ has a snapshot test above.
        #[test]
        fn every_example_has_a_snapshot_test() {
            let covered = [$($file),*];
            for file in example_files() {
                assert!(covered.contains(&file.as_str()), "examples/{file} has no snapshot test");
            }
        }
    };
}

snapshot_tests! {
    hello => "hello.yaml",
    checkout_all_five_secret_routes => "checkout.yaml",
    payments => "payments.yaml",
    search_autoscaled_custom_metric => "search-autoscaled.yaml",
    invoice_archiver_external_endpoints => "invoice-archiver.yaml",
    media_ingest_owned_volume => "media-ingest.yaml",
    media_transcoder_shared_volume_and_gpu => "media-transcoder.yaml",
    ledger_metrics_port_and_ingress => "ledger.yaml",
}

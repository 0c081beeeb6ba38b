//! Compiles `proto/` with protox (pure Rust), so no system `protoc` is needed.

#[cfg(feature = "grpc")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_root = "../proto";
    let file = "../proto/lattice/agent/v1/agent.proto";
    println!("cargo:rerun-if-changed={file}");
    let descriptors = protox::compile([file], [proto_root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}

/// Without the `grpc` feature there is nothing to generate.
#[cfg(not(feature = "grpc"))]
fn main() {}

//! latticectl placeholder
fn main() {}

//! The library behind `latticectl`.

//go:build tools

// Package tools pins clusterctl (sigs.k8s.io/cluster-api/cmd/clusterctl) for the pivot benchmark,
// which measures `clusterctl move` side by side with Lattice's pivot. `go install ...@version` is
// refused for it (cluster-api's go.mod replaces its api module with a local path), so this wrapper
// module requires both modules at one release and scripts/build-clusterctl.sh builds the command (scripts/build-clusterctl.sh).
package tools

import _ "sigs.k8s.io/cluster-api/cmd/clusterctl"

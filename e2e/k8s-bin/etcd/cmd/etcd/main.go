// Command etcd is the upstream etcd server, built unchanged from the pinned go.etcd.io/etcd/server/v3
// module; it is the storage behind each test kube-apiserver.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}

// Package topology holds what hdcluster and the simulator must agree on:
// the simulated k3s servers, their addresses and the cluster's networks.
package topology

// Node is one simulated k3s server (k3s HA: every server is also a worker).
type Node struct {
	Name       string
	InternalIP string // a loopback address, so the apiserver can reach the simulated kubelet
	PodCIDR    string // as k3s's flannel hands out: one /24 of 10.42.0.0/16 per node
}

var Nodes = []Node{
	{Name: "ubuntu-8gb-nbg1-1", InternalIP: "127.0.0.11", PodCIDR: "10.42.0.0/24"},
	{Name: "ubuntu-8gb-nbg1-2", InternalIP: "127.0.0.12", PodCIDR: "10.42.1.0/24"},
	{Name: "ubuntu-8gb-nbg1-3", InternalIP: "127.0.0.13", PodCIDR: "10.42.2.0/24"},
}

const (
	ClusterCIDR    = "10.42.0.0/16" // k3s's default
	ServiceCIDR    = "10.43.0.0/16" // k3s's default
	FirstServiceIP = "10.43.0.1"
	ContextName    = "honeydue-local"
)

package main

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"honeydue-k8s/cluster/internal/topology"
)

const (
	leaseDuration = 40 // seconds, the kubelet's default
	leaseRenewal  = 10 * time.Second
	// A kubelet that renews its Lease posts an unchanged status every 5
	// minutes; once a minute keeps `kubectl get nodes` honest at little cost.
	statusHeartbeat = time.Minute
)

type nodes struct {
	s           *sim
	kubeletPort int32
	lister      corelisters.NodeLister
}

func newNodes(s *sim, kubeletPort int32) *nodes {
	return &nodes{s: s, kubeletPort: kubeletPort, lister: s.factory.Core().V1().Nodes().Lister()}
}

// node is what a k3s server's kubelet registers, as far as a scheduler or a
// controller looks at it: no control-plane NoSchedule taint, since k3s
// servers run workloads; only the admission plugin's not-ready taint, which
// the node-lifecycle controller lifts once it sees Ready.
func (n *nodes) node(t topology.Node, first bool) *corev1.Node {
	labels := map[string]string{
		"kubernetes.io/hostname":                t.Name,
		"kubernetes.io/os":                      "linux",
		"kubernetes.io/arch":                    "amd64",
		"beta.kubernetes.io/os":                 "linux",
		"beta.kubernetes.io/arch":               "amd64",
		"node-role.kubernetes.io/control-plane": "true",
		"node-role.kubernetes.io/master":        "true",
		"node-role.kubernetes.io/etcd":          "true",
		"node.kubernetes.io/instance-type":      "k3s",
	}
	if first {
		labels["honeydue/redis"] = "true"
	}
	resources := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("4"),
		corev1.ResourceMemory:           resource.MustParse("8Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("150Gi"),
	}
	now := metav1.Now().Rfc3339Copy()
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: t.Name, Labels: labels},
		Spec:       corev1.NodeSpec{PodCIDR: t.PodCIDR, PodCIDRs: []string{t.PodCIDR}, ProviderID: "k3s://" + t.Name},
		Status: corev1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources.DeepCopy(),
			Phase:       corev1.NodeRunning,
			Conditions:  nodeConditions(now),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: t.InternalIP},
				{Type: corev1.NodeHostName, Address: t.Name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: n.kubeletPort}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID: string(uuid.NewUUID()), SystemUUID: string(uuid.NewUUID()), BootID: string(uuid.NewUUID()),
				KernelVersion: "simulated", OSImage: "Ubuntu 24.04 LTS (simulated)",
				ContainerRuntimeVersion: "containerd://simulated", KubeletVersion: "v1.34.4+k3s1",
				OperatingSystem: "linux", Architecture: "amd64",
			},
		},
	}
}

func nodeConditions(heartbeat metav1.Time) []corev1.NodeCondition {
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: heartbeat, LastTransitionTime: heartbeat}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status (simulated)"),
	}
}

// register creates the Nodes (status included: a kubelet registers that way)
// and their Leases.
func (n *nodes) register(ctx context.Context) error {
	for i, t := range topology.Nodes {
		_, err := n.s.kube.CoreV1().Nodes().Create(ctx, n.node(t, i == 0), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	// kube-node-lease is created by the apiserver shortly after it is ready.
	return retryUntil(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		return n.renewLeases(ctx) == nil, nil
	})
}

func (n *nodes) run(ctx context.Context) {
	leases := time.NewTicker(leaseRenewal)
	status := time.NewTicker(statusHeartbeat)
	defer leases.Stop()
	defer status.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-leases.C:
			if err := n.renewLeases(ctx); err != nil {
				klog.Warningf("node leases: %v", err)
			}
		case <-status.C:
			n.heartbeat(ctx)
		}
	}
}

func (n *nodes) renewLeases(ctx context.Context) error {
	leases := n.s.kube.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	for _, t := range topology.Nodes {
		now := metav1.NowMicro()
		lease, err := leases.Get(ctx, t.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease = &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: t.Name, Namespace: corev1.NamespaceNodeLease},
				Spec: coordinationv1.LeaseSpec{
					HolderIdentity: ptr.To(t.Name), LeaseDurationSeconds: ptr.To(int32(leaseDuration)), RenewTime: &now,
				},
			}
			if node, err := n.lister.Get(t.Name); err == nil {
				// As the kubelet does: the Lease goes away with its Node.
				lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
			}
			_, err = leases.Create(ctx, lease, metav1.CreateOptions{})
		} else if err == nil {
			lease.Spec.RenewTime = &now
			_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
		}
		if err != nil {
			return fmt.Errorf("lease %s: %w", t.Name, err)
		}
	}
	return nil
}

// heartbeat refreshes the conditions' heartbeat times, and registers a Node
// again if someone deleted it, as a kubelet would.
func (n *nodes) heartbeat(ctx context.Context) {
	for i, t := range topology.Nodes {
		node, err := n.lister.Get(t.Name)
		if apierrors.IsNotFound(err) {
			_, err = n.s.kube.CoreV1().Nodes().Create(ctx, n.node(t, i == 0), metav1.CreateOptions{})
		} else if err == nil {
			node = node.DeepCopy()
			now := metav1.Now().Rfc3339Copy()
			conditions := nodeConditions(now)
			for j, c := range conditions {
				for _, old := range node.Status.Conditions {
					if old.Type == c.Type && old.Status == c.Status {
						conditions[j].LastTransitionTime = old.LastTransitionTime
					}
				}
			}
			node.Status.Conditions = conditions
			_, err = n.s.kube.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
		}
		if err != nil {
			klog.Warningf("node %s: %v", t.Name, err)
		}
	}
}

// waitSchedulable waits for every Node to exist without the not-ready taint.
func (n *nodes) waitSchedulable(ctx context.Context) error {
	err := retryUntil(ctx, 60*time.Second, func(context.Context) (bool, error) {
		for _, t := range topology.Nodes {
			node, err := n.lister.Get(t.Name)
			if err != nil {
				return false, nil
			}
			for _, taint := range node.Spec.Taints {
				if taint.Key == corev1.TaintNodeNotReady {
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("the node-lifecycle controller did not lift the %s taints: %w", corev1.TaintNodeNotReady, err)
	}
	return nil
}

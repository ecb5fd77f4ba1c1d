package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"honeydue-k8s/cluster/internal/topology"
)

// Scenarios, chosen per pod by the annotation sim.honeydue.io/<name> on the
// pod's namespace, <name> being the pod's app.kubernetes.io/name label or,
// without one, its job-name label.
const (
	scenarioPrefix = "sim.honeydue.io/"
	ready          = "ready"       // default for pods not owned by a Job
	neverReady     = "never-ready" // running, readiness never passes
	crashLoop      = "crash-loop"  // the container exits 1 at once, every time
	succeed        = "succeed"     // default for Job pods: exits 0 after runFor
	fail           = "fail"        // exits 1 after runFor
	hang           = "hang"        // runs, never ready, never exits
)

var scenarios = map[string]bool{ready: true, neverReady: true, crashLoop: true, succeed: true, fail: true, hang: true}

const (
	// How long a container of succeed/fail runs before it exits: goose with nothing to migrate takes about
	// this long; a Job that finishes at once would hide a gate that does not wait.
	runFor = 300 * time.Millisecond
	// The kubelet's real back-off starts at 10s and doubles; a fixed, short
	// period lets a test see restarts pile up without waiting minutes.
	restartEvery = 5 * time.Second
)

// kubelet reports, for every pod bound to a simulated node, the status the
// node's kubelet would report if the containers behaved as the scenario says.
type kubelet struct {
	s          *sim
	pods       corelisters.PodLister
	namespaces corelisters.NamespaceLister
	queue      workqueue.TypedRateLimitingInterface[string]

	mu   sync.Mutex
	runs map[string]*podRun // by namespace/name
	next map[string]int     // per node: the last host part handed out
}

// podRun is what a kubelet remembers about a pod it started.
type podRun struct {
	uid      types.UID
	pod      string // namespace/name
	scenario string
	source   string // the annotation that chose the scenario, "" for the default
	started  metav1.Time
	ip       string
}

func newKubelet(s *sim) *kubelet {
	k := &kubelet{
		s:          s,
		pods:       s.factory.Core().V1().Pods().Lister(),
		namespaces: s.factory.Core().V1().Namespaces().Lister(),
		queue:      newQueue(),
		runs:       map[string]*podRun{},
		next:       map[string]int{},
	}
	_, _ = s.factory.Core().V1().Pods().Informer().AddEventHandler(enqueueAll(k.queue))
	return k
}

func (k *kubelet) run(ctx context.Context) { worker(ctx, "kubelet", k.queue, k.sync) }

func nodeByName(name string) (topology.Node, bool) {
	for _, n := range topology.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return topology.Node{}, false
}

func (k *kubelet) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, _ := cache.SplitMetaNamespaceKey(key)
	pod, err := k.pods.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		k.forget(key)
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	node, ours := nodeByName(pod.Spec.NodeName)
	if !ours {
		return 0, nil
	}
	// A kubelet finishes every deletion: without it, deleted pods would stay
	// Terminating forever (drain, rollouts and namespace deletion wait on that).
	if pod.DeletionTimestamp != nil {
		err := k.s.kube.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{
			GracePeriodSeconds: ptr.To(int64(0)), Preconditions: &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return 0, err
		}
		return 0, nil
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0, nil
	}
	r := k.runFor(key, pod, node)
	status, again := r.status(pod, node, time.Now())
	if equality.Semantic.DeepEqual(&pod.Status, status) {
		return again, nil
	}
	updated := pod.DeepCopy()
	updated.Status = *status
	if _, err := k.s.kube.CoreV1().Pods(namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return 0, nil
		}
		return 0, err
	}
	return again, nil
}

func (k *kubelet) forget(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.runs, key)
}

// runFor returns the pod's run, starting it on first sight: the scenario is
// read then, so changing the annotation later only affects new pods.
func (k *kubelet) runFor(key string, pod *corev1.Pod, node topology.Node) *podRun {
	k.mu.Lock()
	defer k.mu.Unlock()
	if r := k.runs[key]; r != nil && r.uid == pod.UID {
		return r
	}
	r := &podRun{uid: pod.UID, pod: key, started: metav1.Now().Rfc3339Copy()}
	r.scenario, r.source = k.scenario(pod)
	switch {
	case pod.Spec.HostNetwork:
		r.ip = node.InternalIP
	case pod.Status.PodIP != "":
		r.ip = pod.Status.PodIP // the simulator restarted; the pod keeps its address
	default:
		r.ip = k.allocateIP(pod, node)
	}
	if pod.Status.StartTime != nil {
		r.started = *pod.Status.StartTime
	}
	k.runs[key] = r
	klog.Infof("kubelet: %s/%s on %s: scenario %s, IP %s", pod.Namespace, pod.Name, node.Name, r.scenario, r.ip)
	return r
}

// scenario returns the pod's scenario and the annotation it came from.
func (k *kubelet) scenario(pod *corev1.Pod) (string, string) {
	scenario := ready
	if ownerKind(pod) == "Job" {
		scenario = succeed
	}
	name := pod.Labels["app.kubernetes.io/name"]
	if name == "" {
		name = pod.Labels["job-name"]
	}
	if name == "" {
		return scenario, ""
	}
	ns, err := k.namespaces.Get(pod.Namespace)
	if err != nil {
		return scenario, ""
	}
	annotation := scenarioPrefix + name
	if want, ok := ns.Annotations[annotation]; ok {
		if scenarios[want] {
			return want, fmt.Sprintf("namespace %s: %s=%s", ns.Name, annotation, want)
		}
		klog.Warningf("kubelet: namespace %s: unknown scenario %q in %s, using %s", ns.Name, want, annotation, scenario)
	}
	return scenario, ""
}

func ownerKind(pod *corev1.Pod) string {
	if ref := metav1.GetControllerOf(pod); ref != nil {
		return ref.Kind
	}
	return ""
}

// allocateIP hands out the next free address of the node's pod CIDR.
func (k *kubelet) allocateIP(pod *corev1.Pod, node topology.Node) string {
	_, cidr, _ := net.ParseCIDR(node.PodCIDR)
	inUse := map[string]bool{}
	for _, r := range k.runs {
		inUse[r.ip] = true
	}
	for range 253 {
		k.next[node.Name] = k.next[node.Name]%253 + 1 // .2 to .254; .1 is the node's cni0
		ip := cidr.IP.To4()
		candidate := net.IPv4(ip[0], ip[1], ip[2], byte(k.next[node.Name]+1)).String()
		if !inUse[candidate] {
			return candidate
		}
	}
	klog.Warningf("kubelet: %s: pod CIDR %s exhausted, %s/%s shares an address", node.Name, node.PodCIDR, pod.Namespace, pod.Name)
	return net.IPv4(cidr.IP[0], cidr.IP[1], cidr.IP[2], 254).String()
}

// outcome of the scenario's containers at one moment.
type outcome struct {
	phase    corev1.PodPhase
	ready    bool
	exitCode int32 // of the last exit, when exited or restarts > 0
	exited   bool  // terminated for good
	restarts int32 // container restarts so far; > 0 and !exited: crash looping
}

// status is a pure function of the run and the time, so that repeated syncs
// produce the same status and only real transitions are written. It also
// returns when the next transition is due (0: none).
func (r *podRun) status(pod *corev1.Pod, node topology.Node, now time.Time) (*corev1.PodStatus, time.Duration) {
	o, again := r.outcome(pod.Spec.RestartPolicy, now.Sub(r.started.Time))
	s := pod.Status.DeepCopy()
	s.Phase = o.phase
	s.HostIP, s.HostIPs = node.InternalIP, []corev1.HostIP{{IP: node.InternalIP}}
	s.PodIP, s.PodIPs = r.ip, []corev1.PodIP{{IP: r.ip}}
	s.StartTime = &r.started
	s.Message, s.Reason = "", ""

	s.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		cs := r.containerStatus(c, outcome{phase: corev1.PodRunning, ready: true})
		if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
			// A plain init container has run to completion before the app started.
			cs.Ready, cs.Started = false, ptr.To(false)
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: r.started, FinishedAt: r.started, ContainerID: cs.ContainerID,
			}}
		}
		s.InitContainerStatuses = append(s.InitContainerStatuses, cs)
	}
	s.ContainerStatuses = nil
	var unready []string
	for _, c := range pod.Spec.Containers {
		cs := r.containerStatus(c, o)
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
		if !cs.Ready {
			unready = append(unready, c.Name)
		}
	}

	setCondition(s, corev1.PodReadyToStartContainers, o.phase == corev1.PodRunning, "", "")
	setCondition(s, corev1.PodInitialized, true, "", "")
	switch {
	case o.exited:
		setCondition(s, corev1.ContainersReady, false, "PodCompleted", "")
		setCondition(s, corev1.PodReady, false, "PodCompleted", "")
	case len(unready) > 0:
		msg := fmt.Sprintf("containers with unready status: %v", unready)
		setCondition(s, corev1.ContainersReady, false, "ContainersNotReady", msg)
		setCondition(s, corev1.PodReady, false, "ContainersNotReady", msg)
	default:
		setCondition(s, corev1.ContainersReady, true, "", "")
		setCondition(s, corev1.PodReady, true, "", "")
	}
	return s, again
}

// outcome plays the scenario forward, with the kubelet's restart rules:
// an exited container is restarted unless restartPolicy says otherwise.
func (r *podRun) outcome(policy corev1.RestartPolicy, elapsed time.Duration) (outcome, time.Duration) {
	running := outcome{phase: corev1.PodRunning, ready: true}
	exitCode, exitsAfter := int32(0), time.Duration(0)
	switch r.scenario {
	case ready:
		return running, 0
	case neverReady, hang:
		return outcome{phase: corev1.PodRunning}, 0
	case succeed:
		exitCode, exitsAfter = 0, runFor
	case fail:
		exitCode, exitsAfter = 1, runFor
	case crashLoop:
		exitCode, exitsAfter = 1, 0
	}
	if elapsed < exitsAfter {
		return running, exitsAfter - elapsed
	}
	restart := policy == corev1.RestartPolicyAlways || (policy == corev1.RestartPolicyOnFailure && exitCode != 0)
	if !restart {
		phase := corev1.PodSucceeded
		if exitCode != 0 {
			phase = corev1.PodFailed
		}
		return outcome{phase: phase, exited: true, exitCode: exitCode}, 0
	}
	// Crash looping: waiting in back-off between restarts, never ready.
	since := elapsed - exitsAfter
	restarts := int32(since/restartEvery) + 1
	return outcome{phase: corev1.PodRunning, exitCode: exitCode, restarts: restarts},
		restartEvery - since%restartEvery
}

func (r *podRun) containerStatus(c corev1.Container, o outcome) corev1.ContainerStatus {
	sum := sha256.Sum256([]byte(string(r.uid) + "/" + c.Name))
	id := fmt.Sprintf("containerd://%x", sum)
	cs := corev1.ContainerStatus{
		Name: c.Name, Image: c.Image, ImageID: fmt.Sprintf("%s@sha256:%x", c.Image, sha256.Sum256([]byte(c.Image))),
		ContainerID: id, RestartCount: o.restarts, Started: ptr.To(false),
	}
	finished := metav1.NewTime(r.started.Add(runFor))
	exitReason := "Completed"
	if o.exitCode != 0 {
		exitReason = "Error"
	}
	switch {
	case o.exited:
		cs.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: o.exitCode, Reason: exitReason, StartedAt: r.started, FinishedAt: finished, ContainerID: id,
		}
	case o.restarts > 0:
		cs.State.Waiting = &corev1.ContainerStateWaiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s (simulated)", restartEvery, c.Name, r.pod),
		}
		cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: o.exitCode, Reason: exitReason, StartedAt: r.started, FinishedAt: finished, ContainerID: id,
		}
	default:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: r.started}
		cs.Started = ptr.To(true)
		cs.Ready = o.ready
	}
	return cs
}

// setCondition keeps lastTransitionTime while the status stays the same.
func setCondition(s *corev1.PodStatus, t corev1.PodConditionType, ok bool, reason, msg string) {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	c := corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.Now().Rfc3339Copy()}
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			if s.Conditions[i].Status == status {
				c.LastTransitionTime = s.Conditions[i].LastTransitionTime
				c.LastProbeTime = s.Conditions[i].LastProbeTime
			}
			s.Conditions[i] = c
			return
		}
	}
	s.Conditions = append(s.Conditions, c)
}

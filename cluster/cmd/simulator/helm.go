package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic/dynamicinformer"
	appslisters "k8s.io/client-go/listers/apps/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// Names and defaults of k3s's helm-controller (pkg/controllers/chart/chart.go).
const (
	chartName            = "traefik"
	chartNamespace       = metav1.NamespaceSystem
	installJob           = "helm-install-" + chartName
	annConfigHash        = "helmcharts.helm.cattle.io/configHash"
	labelChart           = "helmcharts.helm.cattle.io/chart"
	defaultFailurePolicy = "reinstall"
	defaultBackOffLimit  = 1000
	jobImage             = "rancher/klipper-helm:latest" // the controller's DefaultJobImage
	// The controller waits this long before replacing a Job it just created.
	jobSettleTime = 3 * time.Second

	traefikImage = "rancher/mirrored-library-traefik:v3.6.10"
)

var helmChartConfigs = schema.GroupVersionResource{Group: "helm.cattle.io", Version: "v1", Resource: "helmchartconfigs"}

// helmController does what k3s's helm-controller does for the packaged
// Traefik chart: it runs Job helm-install-traefik again whenever the
// HelmChartConfig traefik changes what the install would do, and (playing
// helm inside that Job) rolls the Traefik DaemonSet when the Job succeeds.
type helmController struct {
	s          *sim
	jobs       batchlisters.JobLister
	daemonSets appslisters.DaemonSetLister
	configs    cache.GenericLister
	queue      workqueue.TypedRateLimitingInterface[string]
}

func newHelmController(s *sim) *helmController {
	h := &helmController{
		s:          s,
		jobs:       s.factory.Batch().V1().Jobs().Lister(),
		daemonSets: s.factory.Apps().V1().DaemonSets().Lister(),
		queue:      newQueue(),
	}
	_, _ = s.factory.Batch().V1().Jobs().Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
			return key == chartNamespace+"/"+installJob
		},
		Handler: h.enqueue(),
	})
	return h
}

func (h *helmController) enqueue() cache.ResourceEventHandler {
	add := func(any) { h.queue.Add(chartName) }
	return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }, DeleteFunc: add}
}

// setup installs what k3s has in place once it is up: the CRD, Traefik, and
// the first, completed, install Job.
func (h *helmController) setup(ctx context.Context, crdPath string) error {
	if err := h.applyCRD(ctx, crdPath); err != nil {
		return err
	}
	informers := dynamicinformer.NewFilteredDynamicSharedInformerFactory(h.s.dynamic, 0, chartNamespace, nil)
	configs := informers.ForResource(helmChartConfigs)
	_, _ = configs.Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
			return key == chartNamespace+"/"+chartName
		},
		Handler: h.enqueue(),
	})
	h.configs = configs.Lister()
	informers.Start(ctx.Done())
	informers.WaitForCacheSync(ctx.Done())

	for _, obj := range []struct {
		what   string
		create func() error
	}{
		{"ServiceAccount traefik", func() error {
			_, err := h.s.kube.CoreV1().ServiceAccounts(chartNamespace).Create(ctx, serviceAccount(chartName), metav1.CreateOptions{})
			return err
		}},
		{"ServiceAccount helm-traefik", func() error {
			_, err := h.s.kube.CoreV1().ServiceAccounts(chartNamespace).Create(ctx, serviceAccount("helm-"+chartName), metav1.CreateOptions{})
			return err
		}},
		{"ClusterRoleBinding helm-kube-system-traefik", func() error {
			_, err := h.s.kube.RbacV1().ClusterRoleBindings().Create(ctx, helmRoleBinding(), metav1.CreateOptions{})
			return err
		}},
		{"DaemonSet traefik", func() error {
			_, err := h.s.kube.AppsV1().DaemonSets(chartNamespace).Create(ctx, traefikDaemonSet(configHash("")), metav1.CreateOptions{})
			return err
		}},
	} {
		if err := obj.create(); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("%s: %w", obj.what, err)
		}
	}
	// The first Job, before reporting ready: tests read its uid.
	return retryUntil(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		_, err := h.s.kube.BatchV1().Jobs(chartNamespace).Get(ctx, installJob, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = h.sync(ctx, chartName)
			return false, nil
		}
		return err == nil, nil
	})
}

// waitInstalled waits for the first install Job to complete and Traefik to
// be available on every node, so `up` hands over a cluster as k3s's is at rest.
func (h *helmController) waitInstalled(ctx context.Context) error {
	err := retryUntil(ctx, 60*time.Second, func(context.Context) (bool, error) {
		job, err := h.jobs.Jobs(chartNamespace).Get(installJob)
		if err != nil || !jobCondition(job, batchv1.JobComplete) {
			return false, nil
		}
		ds, err := h.daemonSets.DaemonSets(chartNamespace).Get(chartName)
		return err == nil && ds.Status.DesiredNumberScheduled > 0 &&
			ds.Status.NumberAvailable == ds.Status.DesiredNumberScheduled, nil
	})
	if err != nil {
		return fmt.Errorf("install Job %s did not complete or DaemonSet %s did not become available: %w", installJob, chartName, err)
	}
	return nil
}

func (h *helmController) applyCRD(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	// The file starts with a comment-only document; the CRD is the first real one.
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for crd.Name == "" {
		doc, err := reader.Read()
		if err == io.EOF {
			return fmt.Errorf("%s: no CustomResourceDefinition in it", path)
		} else if err != nil {
			return err
		}
		if err := yaml.Unmarshal(doc, crd); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	crds := h.s.crds.ApiextensionsV1().CustomResourceDefinitions()
	if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return retryUntil(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		got, err := crds.Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range got.Status.Conditions {
			if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
}

func (h *helmController) run(ctx context.Context) {
	h.queue.Add(chartName)
	worker(ctx, "helm-controller", h.queue, h.sync)
}

// sync compares the Job the current HelmChartConfig asks for with the one
// there is, and replaces it when its pod template would differ (the real
// controller's templateChanged): that is, when the config hash or the
// failure policy changed. Anything else in the HelmChartConfig (labels,
// annotations) starts no Job.
func (h *helmController) sync(ctx context.Context, _ string) (time.Duration, error) {
	valuesContent, failurePolicy := "", defaultFailurePolicy
	if obj, err := h.configs.ByNamespace(chartNamespace).Get(chartName); err == nil {
		config := obj.(*unstructured.Unstructured)
		valuesContent, _, _ = unstructured.NestedString(config.Object, "spec", "valuesContent")
		if fp, _, _ := unstructured.NestedString(config.Object, "spec", "failurePolicy"); fp != "" {
			failurePolicy = fp
		}
	} else if !apierrors.IsNotFound(err) {
		return 0, err
	}
	want := installJobFor(configHash(valuesContent), failurePolicy)
	jobs := h.s.kube.BatchV1().Jobs(chartNamespace)

	current, err := h.jobs.Jobs(chartNamespace).Get(installJob)
	if apierrors.IsNotFound(err) {
		if _, err := jobs.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			if apierrors.IsAlreadyExists(err) { // the informer has not seen it yet
				return 200 * time.Millisecond, nil
			}
			return 0, err
		}
		klog.Infof("helm-controller: created Job %s (%s, failurePolicy %s)", installJob, hashOf(want), failurePolicy)
		return 0, nil
	} else if err != nil {
		return 0, err
	}

	if hashOf(current) != hashOf(want) || failurePolicyOf(current) != failurePolicy {
		if age := time.Since(current.CreationTimestamp.Time); age < jobSettleTime {
			return jobSettleTime - age, nil
		}
		// The real controller deletes and creates the Job (wrangler apply's replace).
		err := jobs.Delete(ctx, installJob, metav1.DeleteOptions{
			PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
			Preconditions:     &metav1.Preconditions{UID: &current.UID}, // a stale cache must not delete the new Job
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return 0, err
		}
		klog.Infof("helm-controller: replacing Job %s: %s, failurePolicy %s -> %s, failurePolicy %s",
			installJob, hashOf(current), failurePolicyOf(current), hashOf(want), failurePolicy)
		return 100 * time.Millisecond, nil // create it once the informer has seen the deletion
	}

	if jobCondition(current, batchv1.JobComplete) {
		return 0, h.upgradeTraefik(ctx, hashOf(current))
	}
	return 0, nil
}

// upgradeTraefik is what helm does when the install Job succeeds: the
// rendered DaemonSet changes, so it rolls. The config hash on the pod
// template stands for whatever the new values changed.
func (h *helmController) upgradeTraefik(ctx context.Context, hash string) error {
	ds, err := h.daemonSets.DaemonSets(chartNamespace).Get(chartName)
	if err != nil || ds.Spec.Template.Annotations[annConfigHash] == hash {
		return nil
	}
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{%q:%q}}}}}`, annConfigHash, hash)
	if _, err := h.s.kube.AppsV1().DaemonSets(chartNamespace).Patch(ctx, chartName, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return err
	}
	klog.Infof("helm-controller: Job %s succeeded, rolling DaemonSet %s to %s", installJob, chartName, hash)
	return nil
}

// configHash is the controller's hashObjects over the chart's values Secret:
// each key, sorted, then its value as the Secret's data holds it (base64).
// Here the only key is the HelmChartConfig's valuesContent.
func configHash(valuesContent string) string {
	h := sha256.New()
	if valuesContent != "" {
		h.Write([]byte("HelmChartConfigValuesContent"))
		h.Write([]byte(base64.StdEncoding.EncodeToString([]byte(valuesContent))))
	}
	return fmt.Sprintf("SHA256=%X", h.Sum(nil))
}

func hashOf(job *batchv1.Job) string { return job.Spec.Template.Annotations[annConfigHash] }

func failurePolicyOf(job *batchv1.Job) string {
	for _, c := range job.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == "FAILURE_POLICY" {
				return e.Value
			}
		}
	}
	return ""
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) bool {
	for _, c := range job.Status.Conditions {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// installJobFor builds the Job as the controller's job() does, trimmed of
// what only matters to a real helm run (values and chart volumes, proxy env).
// Its pods get the Job controller's job-name label, so the scenario
// annotation sim.honeydue.io/helm-install-traefik on kube-system applies.
func installJobFor(hash, failurePolicy string) *batchv1.Job {
	env := func(kv ...string) []corev1.EnvVar {
		var out []corev1.EnvVar
		for i := 0; i < len(kv); i += 2 {
			out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	memoryDir := func(name string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: installJob, Namespace: chartNamespace, Labels: map[string]string{labelChart: chartName}},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To(int32(defaultBackOffLimit)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{labelChart: chartName},
					Annotations: map[string]string{annConfigHash: hash},
				},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyOnFailure,
					ServiceAccountName: "helm-" + chartName,
					PriorityClassName:  "system-cluster-critical",
					NodeSelector:       map[string]string{corev1.LabelOSStable: "linux"},
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name: "helm", Image: jobImage, ImagePullPolicy: corev1.PullIfNotPresent,
						Args: []string{"install", "--set-string", "global.systemDefaultRegistry="},
						Env: env("NAME", chartName, "VERSION", "", "REPO", "", "HELM_DRIVER", "secret",
							"CHART_NAMESPACE", chartNamespace, "CHART", "https://%{KUBERNETES_API}%/static/charts/traefik.tgz",
							"HELM_VERSION", "", "TARGET_NAMESPACE", chartNamespace, "FAILURE_POLICY", failurePolicy),
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("10M"),
						}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							ReadOnlyRootFilesystem:   ptr.To(true),
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "klipper-helm", MountPath: "/home/klipper-helm/.helm"},
							{Name: "klipper-cache", MountPath: "/home/klipper-helm/.cache"},
							{Name: "klipper-config", MountPath: "/home/klipper-helm/.config"},
							{Name: "tmp", MountPath: "/tmp"},
						},
					}},
					Volumes: []corev1.Volume{memoryDir("klipper-helm"), memoryDir("klipper-cache"), memoryDir("klipper-config"), memoryDir("tmp")},
				},
			},
		},
	}
}

func serviceAccount(name string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: chartNamespace}}
}

// helmRoleBinding: k3s runs the install Jobs as cluster-admin.
func helmRoleBinding() *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "helm-" + chartNamespace + "-" + chartName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "helm-" + chartName, Namespace: chartNamespace}},
	}
}

// traefikDaemonSet is Traefik as the project's HelmChartConfig has the chart
// render it: a DaemonSet on the host network, one pod per server.
func traefikDaemonSet(hash string) *appsv1.DaemonSet {
	selector := map[string]string{"app.kubernetes.io/name": chartName, "app.kubernetes.io/instance": chartName + "-" + chartNamespace}
	labels := map[string]string{"app.kubernetes.io/managed-by": "Helm"}
	for k, v := range selector {
		labels[k] = v
	}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: chartName, Namespace: chartNamespace, Labels: labels,
			Annotations: map[string]string{"meta.helm.sh/release-name": chartName, "meta.helm.sh/release-namespace": chartNamespace},
		},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type: appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{
					MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0)),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{annConfigHash: hash, "prometheus.io/port": "9100", "prometheus.io/scrape": "true"},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName: chartName,
					HostNetwork:        true,
					DNSPolicy:          corev1.DNSClusterFirstWithHostNet,
					PriorityClassName:  "system-cluster-critical",
					Tolerations: []corev1.Toleration{
						{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists},
						{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
						{Key: "node-role.kubernetes.io/master", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
					},
					Containers: []corev1.Container{{
						Name:  chartName,
						Image: traefikImage,
						Args:  []string{"--entryPoints.web.address=:8000/tcp", "--providers.kubernetesingress"},
						Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 8000, Protocol: corev1.ProtocolTCP}},
					}},
				},
			},
		},
	}
}

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

const (
	localPathClass       = "local-path"
	localPathProvisioner = "rancher.io/local-path"
	localPathRoot        = "/var/lib/rancher/k3s/storage" // k3s's default; nothing is created there
	annSelectedNode      = "volume.kubernetes.io/selected-node"
	annProvisionedBy     = "pv.kubernetes.io/provisioned-by"
)

// storage stands in for k3s's local-path-provisioner. With
// WaitForFirstConsumer the real scheduler picks the node and records it on
// the claim; this creates the volume there, and the real PV controller binds
// the two. Released volumes are deleted, as reclaimPolicy Delete asks.
type storage struct {
	s     *sim
	pvcs  corelisters.PersistentVolumeClaimLister
	pvs   corelisters.PersistentVolumeLister
	queue workqueue.TypedRateLimitingInterface[string] // "pvc:<ns>/<name>" or "pv:<name>"
}

func newStorage(s *sim) *storage {
	st := &storage{
		s:     s,
		pvcs:  s.factory.Core().V1().PersistentVolumeClaims().Lister(),
		pvs:   s.factory.Core().V1().PersistentVolumes().Lister(),
		queue: newQueue(),
	}
	prefixed := func(prefix string) cache.ResourceEventHandler {
		add := func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				st.queue.Add(prefix + key)
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }}
	}
	_, _ = s.factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(prefixed("pvc:"))
	_, _ = s.factory.Core().V1().PersistentVolumes().Informer().AddEventHandler(prefixed("pv:"))
	return st
}

// setup creates the StorageClass as k3s ships it.
func (st *storage) setup(ctx context.Context) error {
	class := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        localPathClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       localPathProvisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	_, err := st.s.kube.StorageV1().StorageClasses().Create(ctx, class, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func (st *storage) run(ctx context.Context) { worker(ctx, "local-path", st.queue, st.sync) }

func (st *storage) sync(ctx context.Context, key string) (time.Duration, error) {
	if name, ok := strings.CutPrefix(key, "pv:"); ok {
		return 0, st.reclaim(ctx, name)
	}
	namespace, name, _ := cache.SplitMetaNamespaceKey(strings.TrimPrefix(key, "pvc:"))
	pvc, err := st.pvcs.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	node := pvc.Annotations[annSelectedNode]
	if ptr.Deref(pvc.Spec.StorageClassName, "") != localPathClass || node == "" || pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil {
		return 0, nil
	}
	pvName := "pvc-" + string(pvc.UID)
	if _, err := st.pvs.Get(pvName); err == nil {
		return 0, nil
	}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        pvName,
			Annotations: map[string]string{annProvisionedBy: localPathProvisioner, "local.path.provisioner/selected-node": node},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: pvc.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              localPathClass,
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion,
			},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: fmt.Sprintf("%s/%s_%s_%s", localPathRoot, pvName, pvc.Namespace, pvc.Name),
				Type: ptr.To(corev1.HostPathDirectoryOrCreate),
			}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{node}},
				}}},
			}},
		},
	}
	if _, err := st.s.kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return 0, err
	}
	klog.Infof("local-path: created %s for %s/%s on %s", pvName, pvc.Namespace, pvc.Name, node)
	return 0, nil
}

func (st *storage) reclaim(ctx context.Context, name string) error {
	pv, err := st.pvs.Get(name)
	if err != nil {
		return nil
	}
	if pv.Annotations[annProvisionedBy] != localPathProvisioner || pv.Status.Phase != corev1.VolumeReleased ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
		return nil
	}
	err = st.s.kube.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pv.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	klog.Infof("local-path: deleted released %s", name)
	return nil
}

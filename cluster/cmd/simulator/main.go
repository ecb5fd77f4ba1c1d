// Command simulator plays the parts of a k3s cluster that this machine cannot
// run, against a real control plane: the three k3s servers (Nodes, Leases,
// and a kubelet that reports pod status from scenario annotations instead of
// running containers), k3s's local-path provisioner, and k3s's helm-controller
// with the Traefik it installs. Everything it does goes through the API, so
// the real controllers, scheduler and admission see the same objects they
// would see on k3s.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

type sim struct {
	kube    kubernetes.Interface
	dynamic dynamic.Interface
	crds    apiextensionsclient.Interface
	factory informers.SharedInformerFactory
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "admin kubeconfig")
	crdPath := flag.String("crd", "", "HelmChartConfig CustomResourceDefinition manifest")
	readyFile := flag.String("ready-file", "", "written once the nodes are schedulable, local-path and the CRD exist, and Traefik is installed")
	kubeletCert := flag.String("kubelet-cert", "", "serving certificate of the simulated kubelets")
	kubeletKey := flag.String("kubelet-key", "", "its key")
	clientCA := flag.String("client-ca", "", "CA that signs the apiserver's kubelet client certificate")
	flag.Parse()

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	if err := run(ctx, *kubeconfig, *crdPath, *readyFile, *kubeletCert, *kubeletKey, *clientCA); err != nil {
		klog.Errorf("simulator: %v", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, crdPath, readyFile, kubeletCert, kubeletKey, clientCA string) error {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	// The defaults (5 qps) would make the kubelet lag behind a burst of pods.
	config.QPS, config.Burst = 100, 200
	s := &sim{}
	if s.kube, err = kubernetes.NewForConfig(config); err != nil {
		return err
	}
	if s.dynamic, err = dynamic.NewForConfig(config); err != nil {
		return err
	}
	if s.crds, err = apiextensionsclient.NewForConfig(config); err != nil {
		return err
	}
	s.factory = informers.NewSharedInformerFactory(s.kube, 0)

	kubelet := newKubelet(s)
	kubeletPort, err := kubelet.serveKubeletAPI(ctx, kubeletCert, kubeletKey, clientCA)
	if err != nil {
		return err
	}
	nodes := newNodes(s, kubeletPort)
	storage := newStorage(s)
	helm := newHelmController(s)
	s.factory.Start(ctx.Done())
	s.factory.WaitForCacheSync(ctx.Done())

	if err := nodes.register(ctx); err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	go nodes.run(ctx)
	go kubelet.run(ctx)
	if err := storage.setup(ctx); err != nil {
		return fmt.Errorf("local-path: %w", err)
	}
	go storage.run(ctx)
	if err := helm.setup(ctx, crdPath); err != nil {
		return fmt.Errorf("helm-controller: %w", err)
	}
	go helm.run(ctx)

	// Tests start creating pods right after `up`: wait until the node-lifecycle
	// controller has lifted the not-ready taints, so those pods schedule at once.
	if err := nodes.waitSchedulable(ctx); err != nil {
		return err
	}
	if err := helm.waitInstalled(ctx); err != nil {
		return err
	}
	if err := os.WriteFile(readyFile, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	klog.Info("simulator ready")
	<-ctx.Done()
	return nil
}

// worker drains a queue of object keys with one goroutine. sync returns a
// delay to look at the key again (0: done) or an error to retry with backoff.
func worker(ctx context.Context, name string, q workqueue.TypedRateLimitingInterface[string], sync func(context.Context, string) (time.Duration, error)) {
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()
	for {
		key, quit := q.Get()
		if quit {
			return
		}
		again, err := sync(ctx, key)
		switch {
		case err != nil:
			klog.Warningf("%s %s: %v (retrying)", name, key, err)
			q.AddRateLimited(key)
		case again > 0:
			q.Forget(key)
			q.AddAfter(key, again)
		default:
			q.Forget(key)
		}
		q.Done(key)
	}
}

func newQueue() workqueue.TypedRateLimitingInterface[string] {
	return workqueue.NewTypedRateLimitingQueue(workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second))
}

// enqueueAll adds the key of every object an informer reports, including deletions.
func enqueueAll(q workqueue.TypedRateLimitingInterface[string]) cache.ResourceEventHandler {
	add := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			q.Add(key)
		}
	}
	return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }, DeleteFunc: add}
}

// retryUntil polls f until it reports done, for one-off setup steps that
// depend on other controllers.
func retryUntil(ctx context.Context, timeout time.Duration, f func(context.Context) (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, f)
}

// Command hdcluster starts and stops the local control plane the deploy tests
// run against: a real etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler built from the Kubernetes sources, plus the simulator that
// stands in for the k3s servers (nodes, kubelets, local-path, helm-controller).
//
//	hdcluster up   --dir DIR --bin BINDIR --crd FILE
//	hdcluster down --dir DIR
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"honeydue-k8s/cluster/internal/topology"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "up" && os.Args[1] != "down") {
		fmt.Fprintln(os.Stderr, "usage: hdcluster up --dir DIR --bin BINDIR --crd FILE | hdcluster down --dir DIR")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", "", "state directory (certificates, etcd data, logs, pids, kubeconfig)")
	bin := fs.String("bin", "", "directory holding etcd, kube-apiserver, kube-controller-manager, kube-scheduler and simulator")
	crd := fs.String("crd", "", "the HelmChartConfig CustomResourceDefinition manifest")
	_ = fs.Parse(os.Args[2:])
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "hdcluster: --dir is required")
		os.Exit(2)
	}
	stateDir, err := filepath.Abs(*dir)
	if err != nil {
		fatal(err)
	}
	if os.Args[1] == "down" {
		down(stateDir)
		return
	}
	if *bin == "" || *crd == "" {
		fmt.Fprintln(os.Stderr, "hdcluster up: --bin and --crd are required")
		os.Exit(2)
	}
	binDir, _ := filepath.Abs(*bin)
	crdPath, _ := filepath.Abs(*crd)
	if err := up(stateDir, binDir, crdPath); err != nil {
		var f *failure
		if errors.As(err, &f) {
			fmt.Fprintf(os.Stderr, "hdcluster: %s failed: %s\n", f.component, f.msg)
			if f.detail != "" {
				fmt.Fprintln(os.Stderr, f.detail)
			}
			printLog(filepath.Join(stateDir, "logs", f.component+".log"), 30)
		} else {
			fmt.Fprintf(os.Stderr, "hdcluster: %v\n", err)
		}
		if stopped, _ := stopAll(stateDir); len(stopped) > 0 {
			fmt.Fprintf(os.Stderr, "hdcluster: stopped what was started: %s\n", strings.Join(stopped, ", "))
		}
		os.Exit(1)
	}
}

func down(dir string) {
	stopped, err := stopAll(dir)
	if err != nil {
		fatal(err)
	}
	if len(stopped) == 0 {
		fmt.Fprintf(os.Stderr, "hdcluster: nothing was running for %s\n", dir)
		return
	}
	fmt.Fprintf(os.Stderr, "hdcluster: stopped %s\n", strings.Join(stopped, ", "))
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "hdcluster: %v\n", err)
	os.Exit(1)
}

// failure names the component whose log explains why up failed.
type failure struct {
	component, msg, detail string
}

func (f *failure) Error() string { return f.component + ": " + f.msg }

type cluster struct {
	mu        sync.Mutex // held while starting a component, so an interrupt cannot miss it
	dir, bin  string
	began     time.Time
	procs     []*proc
	apiserver string // https://127.0.0.1:PORT
	client    *http.Client
}

func (c *cluster) path(parts ...string) string {
	return filepath.Join(append([]string{c.dir}, parts...)...)
}

func (c *cluster) progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "hdcluster: [%5.1fs] %s\n", time.Since(c.began).Seconds(), fmt.Sprintf(format, args...))
}

func up(dir, bin, crd string) error {
	c := &cluster{dir: dir, bin: bin, began: time.Now()}
	// The components live in their own sessions, so Ctrl-C reaches only us:
	// stop what was started rather than leave half a cluster behind.
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-interrupted
		c.mu.Lock()
		fmt.Fprintf(os.Stderr, "hdcluster: %v, stopping what was started\n", sig)
		if stopped, _ := stopAll(dir); len(stopped) > 0 {
			fmt.Fprintf(os.Stderr, "hdcluster: stopped %s\n", strings.Join(stopped, ", "))
		}
		os.Exit(130)
	}()
	if stopped, err := stopAll(dir); err != nil {
		return err
	} else if len(stopped) > 0 {
		c.progress("stopped the previous cluster in %s: %s", dir, strings.Join(stopped, ", "))
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for sub, mode := range map[string]os.FileMode{"logs": 0o755, "pids": 0o755, "etcd": 0o700} {
		if err := os.MkdirAll(c.path(sub), mode); err != nil {
			return err
		}
	}
	if err := writePKI(c.path("pki")); err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	c.apiserver = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	if c.client, err = c.adminClient(); err != nil {
		return err
	}
	kubeconfig := c.path("kubeconfig")
	if err := c.writeKubeconfig(kubeconfig); err != nil {
		return err
	}
	c.progress("certificates and kubeconfig written to %s", dir)

	// etcd: single member; fsync off because the data is thrown away anyway
	// and it keeps the apiserver's writes fast on a busy 2-core machine.
	if err := c.start("etcd", "etcd",
		"--name=honeydue-local", "--data-dir="+c.path("etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=honeydue-local="+peerURL, "--initial-cluster-state=new",
		"--unsafe-no-fsync", "--log-level=warn",
	); err != nil {
		return err
	}
	if err := c.waitFor("etcd", "etcd to answer /health", 20*time.Second, func() (bool, string) {
		return c.httpOK(http.DefaultClient, etcdURL+"/health", `"health":"true"`)
	}); err != nil {
		return err
	}
	c.progress("etcd ready on %s", etcdURL)

	pki := func(name string) string { return c.path("pki", name) }
	if err := c.start("kube-apiserver", "kube-apiserver",
		"--etcd-servers="+etcdURL,
		fmt.Sprintf("--secure-port=%d", ports[2]), "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"), "--anonymous-auth=false",
		"--authorization-mode=Node,RBAC",
		// k3s's flag: this adds NodeRestriction to the default plugins and keeps
		// them all (PodSecurity, ValidatingAdmissionPolicy, TaintNodesByCondition, ...).
		"--enable-admission-plugins=NodeRestriction",
		"--allow-privileged=true", // as k3s: PodSecurity, not this switch, refuses privileged pods
		"--service-cluster-ip-range="+topology.ServiceCIDR,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--api-audiences=https://kubernetes.default.svc.cluster.local,k3s",
		"--service-account-key-file="+pki("sa.pub"), "--service-account-signing-key-file="+pki("sa.key"),
		// kubectl logs goes through the apiserver to the simulated kubelets.
		"--kubelet-client-certificate="+pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key="+pki("apiserver-kubelet-client.key"),
		"--kubelet-certificate-authority="+pki("ca.crt"),
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
		// The default reconciler would publish the advertise address as the
		// endpoint of Service "kubernetes", and Endpoints may not hold loopback
		// addresses: it would fail on every sync. The Service itself still exists.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	); err != nil {
		return err
	}
	if err := c.waitFor("kube-apiserver", "the apiserver's /readyz", 60*time.Second, func() (bool, string) {
		return c.httpOK(c.client, c.apiserver+"/readyz?verbose", "readyz check passed")
	}); err != nil {
		return err
	}
	c.progress("kube-apiserver ready on %s", c.apiserver)

	if err := c.start("kube-controller-manager", "kube-controller-manager",
		"--kubeconfig="+kubeconfig, "--secure-port=0", "--leader-elect=false",
		"--service-account-private-key-file="+pki("sa.key"), "--root-ca-file="+pki("ca.crt"),
		"--cluster-signing-cert-file="+pki("ca.crt"), "--cluster-signing-key-file="+pki("ca.key"),
		"--use-service-account-credentials=false",
		"--cluster-cidr="+topology.ClusterCIDR, "--service-cluster-ip-range="+topology.ServiceCIDR,
		// The simulator sets each node's podCIDR the way k3s's flannel setup does.
		"--allocate-node-cidrs=false",
	); err != nil {
		return err
	}
	if err := c.start("kube-scheduler", "kube-scheduler",
		"--kubeconfig="+kubeconfig, "--secure-port=0", "--leader-elect=false",
	); err != nil {
		return err
	}
	readyFile := c.path("simulator.ready")
	if err := c.start("simulator", "simulator",
		"--kubeconfig="+kubeconfig, "--crd="+crd, "--ready-file="+readyFile,
		"--kubelet-cert="+pki("kubelet.crt"), "--kubelet-key="+pki("kubelet.key"), "--client-ca="+pki("ca.crt"),
	); err != nil {
		return err
	}
	if err := c.waitFor("kube-controller-manager", "ServiceAccount default/default", 60*time.Second, func() (bool, string) {
		return c.httpOK(c.client, c.apiserver+"/api/v1/namespaces/default/serviceaccounts/default", `"name":"default"`)
	}); err != nil {
		return err
	}
	c.progress("controller-manager created ServiceAccount default/default")
	if err := c.waitFor("simulator", "the simulator's ready marker "+readyFile, 60*time.Second, func() (bool, string) {
		_, err := os.Stat(readyFile)
		return err == nil, ""
	}); err != nil {
		return err
	}
	c.progress("simulator ready: 3 nodes, local-path, HelmChartConfig CRD, Traefik")
	c.progress("cluster up in %.1fs; logs in %s", time.Since(c.began).Seconds(), c.path("logs"))
	// The kubectl built beside the control plane first: the machine's may be too old for a 1.34 server.
	fmt.Printf("export PATH=%q\n", c.bin+":$PATH")
	fmt.Printf("export KUBECONFIG=%s\n", kubeconfig)
	return nil
}

func (c *cluster) start(name, bin string, args ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, err := start(c.dir, name, filepath.Join(c.bin, bin), args...)
	if p != nil {
		c.procs = append(c.procs, p)
	}
	return err
}

// waitFor polls check until it passes. A component that exits meanwhile
// fails the wait at once, and is the one blamed; on timeout it is owner.
func (c *cluster) waitFor(owner, what string, timeout time.Duration, check func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		for _, p := range c.procs {
			if p.hasExited() {
				return &failure{component: p.name, msg: fmt.Sprintf("exited (%v) while waiting for %s", p.err, what)}
			}
		}
		ok, detail := check()
		if ok {
			return nil
		}
		if detail != "" {
			last = detail
		}
		if time.Now().After(deadline) {
			return &failure{component: owner, msg: fmt.Sprintf("no %s within %s", what, timeout), detail: last}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpOK reports whether url answers 200 with want in its body; otherwise
// it returns what it got, for the failure report.
func (c *cluster) httpOK(client *http.Client, url, want string) (bool, string) {
	resp, err := client.Get(url)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
		return true, ""
	}
	return false, fmt.Sprintf("%s: %s\n%s", url, resp.Status, body)
}

func (c *cluster) adminClient() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(c.path("pki", "admin.crt"), c.path("pki", "admin.key"))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(c.path("pki", "ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}, nil
}

// writeKubeconfig embeds the credentials, so the file works when copied.
func (c *cluster) writeKubeconfig(path string) error {
	read := func(name string) (string, error) {
		data, err := os.ReadFile(c.path("pki", name))
		return base64.StdEncoding.EncodeToString(data), err
	}
	ca, err := read("ca.crt")
	if err != nil {
		return err
	}
	cert, err := read("admin.crt")
	if err != nil {
		return err
	}
	key, err := read("admin.key")
	if err != nil {
		return err
	}
	name := topology.ContextName
	config := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
users:
- name: %[1]s-admin
  user:
    client-certificate-data: %[4]s
    client-key-data: %[5]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s-admin
current-context: %[1]s
`, name, c.apiserver, ca, cert, key)
	return os.WriteFile(path, []byte(config), 0o600)
}

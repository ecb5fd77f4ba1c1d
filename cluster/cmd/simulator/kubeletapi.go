package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"k8s.io/klog/v2"

	"honeydue-k8s/cluster/internal/topology"
)

// serveKubeletAPI answers the one kubelet endpoint the deploy reads through
// the apiserver, /containerLogs (`kubectl logs`), on every node's
// InternalIP and one common port, which the Nodes advertise.
func (k *kubelet) serveKubeletAPI(ctx context.Context, certFile, keyFile, clientCAFile string) (int32, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return 0, err
	}
	caPEM, err := os.ReadFile(clientCAFile)
	if err != nil {
		return 0, err
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	listeners, err := listenOnNodes()
	if err != nil {
		return 0, err
	}
	server := &http.Server{
		Handler:   http.HandlerFunc(k.serveLogs),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: clientCAs, ClientAuth: tls.RequireAndVerifyClientCert},
	}
	for _, l := range listeners {
		go func() {
			if err := server.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				klog.Errorf("kubelet API on %s: %v", l.Addr(), err)
			}
		}()
	}
	go func() {
		<-ctx.Done()
		server.Close()
	}()
	return int32(listeners[0].Addr().(*net.TCPAddr).Port), nil
}

// listenOnNodes binds the same free port on each node's loopback address.
func listenOnNodes() ([]net.Listener, error) {
	var lastErr error
	for range 20 {
		var ls []net.Listener
		port := 0
		for _, n := range topology.Nodes {
			l, err := net.Listen("tcp", net.JoinHostPort(n.InternalIP, fmt.Sprint(port)))
			if err != nil {
				lastErr = err
				break
			}
			port = l.Addr().(*net.TCPAddr).Port
			ls = append(ls, l)
		}
		if len(ls) == len(topology.Nodes) {
			return ls, nil
		}
		for _, l := range ls {
			l.Close()
		}
	}
	return nil, fmt.Errorf("no common free port on the nodes' addresses: %w", lastErr)
}

// serveLogs: /containerLogs/<namespace>/<pod>/<container>. There are no
// containers, so the log says what was simulated.
func (k *kubelet) serveLogs(w http.ResponseWriter, req *http.Request) {
	parts := strings.Split(strings.TrimPrefix(req.URL.Path, "/containerLogs/"), "/")
	if !strings.HasPrefix(req.URL.Path, "/containerLogs/") || len(parts) != 3 {
		http.NotFound(w, req)
		return
	}
	namespace, name, container := parts[0], parts[1], parts[2]
	k.mu.Lock()
	r := k.runs[namespace+"/"+name]
	k.mu.Unlock()
	if r == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s is not running on this node", namespace, name), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	ts := r.started.UTC().Format("2006-01-02T15:04:05Z")
	source := r.source
	if source == "" {
		source = "default"
	}
	fmt.Fprintf(w, "%s simulated container %s of pod %s/%s: scenario %s (%s)\n", ts, container, namespace, name, r.scenario, source)
	switch r.scenario {
	case fail, crashLoop:
		fmt.Fprintf(w, "%s Error: simulated failure, exit code 1\n", ts)
	case succeed:
		fmt.Fprintf(w, "%s done, exit code 0\n", ts)
	}
}

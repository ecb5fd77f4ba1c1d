package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a component started by this run of `up`.
type proc struct {
	name   string
	log    string
	exited chan struct{} // closed once the process has ended (and been reaped)
	err    error
}

// start runs bin detached: its own session, so closing the terminal or
// ending `npm run` does not take the cluster down, output to DIR/logs.
func start(dir, name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, "logs", name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, log: logPath, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	pidFile := filepath.Join(dir, "pids", name+".pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return p, err
	}
	return p, nil
}

func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of a log file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts asks the kernel for distinct unused ports on 127.0.0.1. They are
// released before the components bind them; nothing else on this machine is
// expected to grab them in that instant.
func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// stopOrder stops the clients of the apiserver first and etcd last, so that
// nothing logs a storm of connection errors while going down.
var stopOrder = [][]string{
	{"simulator", "kube-scheduler", "kube-controller-manager"},
	{"kube-apiserver"},
	{"etcd"},
}

// stopAll ends the processes recorded in DIR/pids. It signals a PID only if
// that process's command line names a path in DIR, so a PID reused by an
// unrelated process since the cluster went down is left alone.
func stopAll(dir string) ([]string, error) {
	pidDir := filepath.Join(dir, "pids")
	entries, err := os.ReadDir(pidDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	pids := map[string]int{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pid")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(pidDir, e.Name()))
		if err != nil {
			return nil, err
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && ours(pid, dir) {
			pids[name] = pid
		}
	}
	var stopped []string
	for _, group := range groups(pids) {
		for _, name := range group {
			_ = syscall.Kill(pids[name], syscall.SIGTERM)
		}
		waitGone(pids, group, 5*time.Second)
		for _, name := range group {
			if alive(pids[name]) {
				fmt.Fprintf(os.Stderr, "hdcluster: %s (pid %d) ignored SIGTERM for 5s, sending SIGKILL\n", name, pids[name])
				_ = syscall.Kill(pids[name], syscall.SIGKILL)
			}
		}
		waitGone(pids, group, 5*time.Second)
		for _, name := range group {
			stopped = append(stopped, fmt.Sprintf("%s (pid %d)", name, pids[name]))
		}
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".pid") {
			os.Remove(filepath.Join(pidDir, e.Name()))
		}
	}
	return stopped, nil
}

// groups orders the running components by stopOrder; unknown names go first.
func groups(pids map[string]int) [][]string {
	known := map[string]bool{}
	var out [][]string
	for _, g := range stopOrder {
		var group []string
		for _, name := range g {
			known[name] = true
			if _, ok := pids[name]; ok {
				group = append(group, name)
			}
		}
		if len(group) > 0 {
			out = append(out, group)
		}
	}
	var unknown []string
	for name := range pids {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		out = append([][]string{unknown}, out...)
	}
	return out
}

func waitGone(pids map[string]int, group []string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		running := false
		for _, name := range group {
			running = running || alive(pids[name])
		}
		if !running {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive treats a zombie as gone: once up has exited, the components' parent
// is whatever reaps orphans here, which may be slow to do so or never do it.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

func ours(pid int, dir string) bool {
	if !alive(pid) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	// Every component has a path under DIR among its flags.
	return err == nil && bytes.Contains(cmdline, []byte(dir+string(os.PathSeparator)))
}

// printLog shows the end of a component's log on stderr.
func printLog(p string, n int) {
	fmt.Fprintf(os.Stderr, "---- last %d lines of %s ----\n", n, p)
	sc := bufio.NewScanner(strings.NewReader(tail(p, n)))
	for sc.Scan() {
		fmt.Fprintln(os.Stderr, "  "+sc.Text())
	}
	fmt.Fprintf(os.Stderr, "---- end of %s ----\n", p)
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/aisle-ai/aisle/server"
)

// The deployment files (Dockerfile, deploy/k8s, deploy/k8s-redis, deploy/kserve) must start
// the server the way it can actually be started: every flag they pass is one
// `aisle serve -h` (or, for the fold workers, `aisle aggregate -h`) lists,
// the container ports are the ports those flags bind, and every probe asks
// a path the server's HTTP handler answers on the HTTP port. A renamed
// flag, a moved port or a typo in a probe path fails here, not in a
// cluster.

var (
	deployRoot   = filepath.Join("..", "..")
	usageFlagRE  = regexp.MustCompile(`^\s+--?([A-Za-z0-9][A-Za-z0-9_.-]*)`)
	dockerCmdRE  = regexp.MustCompile(`(?m)^CMD\s+(\[.*\])\s*$`)
	dockerExpose = regexp.MustCompile(`(?m)^EXPOSE\s+(.+)$`)
)

// serveFlags returns the flag names `aisle serve -h` prints.
func serveFlags(t *testing.T) map[string]bool {
	t.Helper()
	return commandFlags(t, "serve", "models", "grpc-addr", "http-addr", "drain-timeout")
}

// commandFlags returns the flag names `aisle <cmd> -h` prints, read from
// the help text itself (stdout and stderr), so the test follows the
// command however its flags are declared; each of want must be listed.
func commandFlags(t *testing.T, cmd string, want ...string) map[string]bool {
	t.Helper()
	out := captureOutput(t, func() { _ = run(context.Background(), []string{cmd, "-h"}) })
	flags := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if m := usageFlagRE.FindStringSubmatch(sc.Text()); m != nil {
			flags[m[1]] = true
		}
	}
	for _, w := range want {
		if !flags[w] {
			t.Fatalf("`aisle %s -h` does not list --%s; help was:\n%s", cmd, w, out)
		}
	}
	return flags
}

// captureOutput runs fn with os.Stdout and os.Stderr going to a file and
// returns what it wrote.
func captureOutput(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "help")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = f, f
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	fn()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// serveArgs checks args (["serve", "--flag=value", ...]) against flags and
// returns the values by flag name.
func serveArgs(t *testing.T, where string, args []string, flags map[string]bool) map[string]string {
	t.Helper()
	return commandArgs(t, where, "serve", args, flags)
}

// commandArgs checks args ([cmd, "--flag=value", ...]) against cmd's flags
// and returns the values by flag name. Values are written --name=value,
// the one form that cannot be misread whatever the flag's type.
func commandArgs(t *testing.T, where, cmd string, args []string, flags map[string]bool) map[string]string {
	t.Helper()
	if len(args) == 0 || args[0] != cmd {
		t.Fatalf("%s: args %q do not start with the %s command", where, args, cmd)
	}
	vals := map[string]string{}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: argument %q is not a flag; write --name=value", where, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !flags[name] {
			t.Errorf("%s: flag --%s is not one `aisle %s` accepts", where, name, cmd)
		}
		if !hasVal {
			val = "true"
		}
		vals[name] = val
	}
	return vals
}

// listenPort returns the port of a --grpc-addr or --http-addr value, which
// in a container must listen on every interface, not the loopback default.
func listenPort(t *testing.T, where, flag string, vals map[string]string) int {
	t.Helper()
	addr, ok := vals[flag]
	if !ok {
		t.Fatalf("%s: --%s not set; its default listens on loopback only, unreachable in a container", where, flag)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: --%s=%s: %v", where, flag, addr, err)
	}
	if host != "" && host != "0.0.0.0" && host != "::" {
		t.Errorf("%s: --%s=%s listens on %s only; use 0.0.0.0", where, flag, addr, host)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("%s: --%s=%s: port %q", where, flag, addr, port)
	}
	return n
}

// servedPaths answers whether the server's HTTP handler serves a path (a
// ready server, so /readyz answers 200).
func servedPaths(path string) int {
	h := server.NewHTTPHandler(prometheus.NewRegistry(), func(context.Context) error { return nil })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

type manifest struct {
	path string
	kind string
	name string
	node yaml.Node
}

func readManifests(t *testing.T) []manifest {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(deployRoot, "deploy", "*", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests under deploy/: %v", err)
	}
	var out []manifest
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var m manifest
			if err := dec.Decode(&m.node); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			var head struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			if err := m.node.Decode(&head); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			m.path, m.kind, m.name = filepath.ToSlash(p), head.Kind, head.Metadata.Name
			out = append(out, m)
		}
		f.Close()
	}
	return out
}

func decodeStrict(t *testing.T, m manifest, v any) {
	t.Helper()
	if err := m.node.Decode(v); err != nil {
		t.Fatalf("%s (%s %s): %v", m.path, m.kind, m.name, err)
	}
}

// ---- the subset of the Kubernetes and KServe objects the test reads ----

type port struct {
	Name          string `yaml:"name"`
	ContainerPort int    `yaml:"containerPort"`
}

type probe struct {
	HTTPGet *struct {
		Path string    `yaml:"path"`
		Port yaml.Node `yaml:"port"` // a number or a port name
	} `yaml:"httpGet"`
	GRPC *struct {
		Port int `yaml:"port"`
	} `yaml:"grpc"`
}

type container struct {
	Name           string   `yaml:"name"`
	Args           []string `yaml:"args"`
	Ports          []port   `yaml:"ports"`
	StartupProbe   *probe   `yaml:"startupProbe"`
	LivenessProbe  *probe   `yaml:"livenessProbe"`
	ReadinessProbe *probe   `yaml:"readinessProbe"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int        `yaml:"terminationGracePeriodSeconds"`
	Containers                    []container `yaml:"containers"`
}

type deployment struct {
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string    `yaml:"name"`
			Port       int       `yaml:"port"`
			TargetPort yaml.Node `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type selectorSpec struct {
	Spec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas *int `yaml:"minReplicas"`
		MaxReplicas int  `yaml:"maxReplicas"`
	} `yaml:"spec"`
}

type servingRuntime struct {
	Spec struct {
		SupportedModelFormats []struct {
			Name string `yaml:"name"`
		} `yaml:"supportedModelFormats"`
		ProtocolVersions []string    `yaml:"protocolVersions"`
		Containers       []container `yaml:"containers"`
	} `yaml:"spec"`
}

// resolvePort turns a probe or Service port (number or name) into a number
// using the container's ports.
func resolvePort(t *testing.T, where string, n yaml.Node, ports []port) int {
	t.Helper()
	if v, err := strconv.Atoi(n.Value); err == nil {
		return v
	}
	for _, p := range ports {
		if p.Name == n.Value {
			return p.ContainerPort
		}
	}
	t.Fatalf("%s: port %q names no container port", where, n.Value)
	return 0
}

// checkContainer checks one aisle container's flags (those of cmd),
// ports and probes and returns its flag values. grpcPortName "" is a
// command without gRPC (aggregate): no --grpc-addr, no gRPC probe.
func checkContainer(t *testing.T, where, cmd string, c container, flags map[string]bool, grpcPortName string) map[string]string {
	t.Helper()
	vals := commandArgs(t, where, cmd, c.Args, flags)
	grpcPort := -1
	if grpcPortName != "" {
		grpcPort = listenPort(t, where, "grpc-addr", vals)
	}
	httpPort := listenPort(t, where, "http-addr", vals)
	declared := map[int]string{}
	for _, p := range c.Ports {
		declared[p.ContainerPort] = p.Name
	}
	if grpcPortName != "" && declared[grpcPort] != grpcPortName {
		t.Errorf("%s: --grpc-addr port %d is not declared as container port %q (ports %v)", where, grpcPort, grpcPortName, c.Ports)
	}
	// Without gRPC the HTTP port is the container's only one (its metrics
	// port); KServe's runtime declares only the gRPC port.
	if _, ok := declared[httpPort]; grpcPortName == "" && !ok {
		t.Errorf("%s: --http-addr port %d is not a declared container port (ports %v)", where, httpPort, c.Ports)
	}
	probes := map[string]*probe{"startupProbe": c.StartupProbe, "livenessProbe": c.LivenessProbe, "readinessProbe": c.ReadinessProbe}
	want := map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"}
	for kind, p := range probes {
		if p == nil {
			if kind != "startupProbe" {
				t.Errorf("%s: no %s", where, kind)
			}
			continue
		}
		switch {
		case p.HTTPGet != nil:
			if got := resolvePort(t, where+" "+kind, p.HTTPGet.Port, c.Ports); got != httpPort {
				t.Errorf("%s: %s on port %d; the HTTP port (--http-addr) is %d", where, kind, got, httpPort)
			}
			if code := servedPaths(p.HTTPGet.Path); code != http.StatusOK {
				t.Errorf("%s: %s path %q answers %d on the server's HTTP handler", where, kind, p.HTTPGet.Path, code)
			}
			if w, ok := want[kind]; ok && p.HTTPGet.Path != w {
				t.Errorf("%s: %s asks %s, want %s", where, kind, p.HTTPGet.Path, w)
			}
		case p.GRPC != nil:
			if p.GRPC.Port != grpcPort {
				t.Errorf("%s: %s gRPC health on port %d; --grpc-addr is %d", where, kind, p.GRPC.Port, grpcPort)
			}
		default:
			t.Errorf("%s: %s is neither httpGet nor grpc", where, kind)
		}
	}
	return vals
}

func TestDeployManifests(t *testing.T) {
	flags := serveFlags(t)
	aggFlags := commandFlags(t, "aggregate", "models", "http-addr", "drain-timeout", "redis-addr")
	seen := map[string]int{}
	var pods, aggPods []deployment
	var podNames []string
	ms := readManifests(t)
	for _, m := range ms {
		seen[m.kind]++
		where := m.path + " " + m.name
		switch m.kind {
		case "Deployment":
			var d deployment
			decodeStrict(t, m, &d)
			for k, v := range d.Spec.Selector.MatchLabels {
				if d.Spec.Template.Metadata.Labels[k] != v {
					t.Errorf("%s: selector %s=%s does not match the pod labels", where, k, v)
				}
			}
			aggregate := false
			for _, c := range d.Spec.Template.Spec.Containers {
				var vals map[string]string
				if len(c.Args) > 0 && c.Args[0] == "aggregate" {
					aggregate = true
					vals = checkContainer(t, where, "aggregate", c, aggFlags, "")
					if vals["redis-addr"] == "" && vals["redis-cluster-addrs"] == "" {
						t.Errorf("%s: aisle aggregate needs --redis-addr or --redis-cluster-addrs", where)
					}
				} else {
					vals = checkContainer(t, where, "serve", c, flags, "grpc")
				}
				grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
				drain, err := parseSeconds(vals["drain-timeout"])
				if err != nil || grace == nil || float64(*grace) <= drain {
					g := "unset"
					if grace != nil {
						g = strconv.Itoa(*grace)
					}
					t.Errorf("%s: terminationGracePeriodSeconds %s must exceed --drain-timeout=%s (%v)", where, g, vals["drain-timeout"], err)
				}
				if ann := d.Spec.Template.Metadata.Annotations; ann["prometheus.io/scrape"] == "true" {
					_, httpPort, _ := net.SplitHostPort(vals["http-addr"])
					if ann["prometheus.io/port"] != httpPort || ann["prometheus.io/path"] != "/metrics" {
						t.Errorf("%s: prometheus.io annotations %v; want port %s (--http-addr) and path /metrics", where, ann, httpPort)
					}
				}
			}
			if aggregate {
				aggPods = append(aggPods, d)
				continue
			}
			pods = append(pods, d)
			podNames = append(podNames, m.name)
		case "ServingRuntime":
			var sr servingRuntime
			decodeStrict(t, m, &sr)
			onnx := false
			for _, f := range sr.Spec.SupportedModelFormats {
				onnx = onnx || f.Name == "onnx"
			}
			if !onnx || !slices.Contains(sr.Spec.ProtocolVersions, "grpc-v2") {
				t.Errorf("%s: want model format onnx and protocol grpc-v2, have %v %v", where, sr.Spec.SupportedModelFormats, sr.Spec.ProtocolVersions)
			}
			for _, c := range sr.Spec.Containers {
				_ = checkContainer(t, where, "serve", c, flags, "h2c")
			}
		}
	}
	if len(pods) != 1 {
		t.Fatalf("want one serve Deployment, found %d", len(pods))
	}
	if len(aggPods) != 1 {
		t.Errorf("want one aisle aggregate Deployment, found %d", len(aggPods))
	}
	pod := pods[0].Spec.Template
	// selectsAggregate: a serve Service, PDB or HPA must not take in the
	// fold workers (a Service would send gRPC calls to a pod without gRPC).
	selectsAggregate := func(where string, selector map[string]string) {
		for _, a := range aggPods {
			if matches(selector, a.Spec.Template.Metadata.Labels) {
				t.Errorf("%s: selector %v also selects the aggregate pods (labels %v)", where, selector, a.Spec.Template.Metadata.Labels)
			}
		}
	}
	for _, m := range ms {
		where := m.path + " " + m.name
		switch m.kind {
		case "Service":
			var s service
			decodeStrict(t, m, &s)
			if !matches(s.Spec.Selector, pod.Metadata.Labels) {
				t.Errorf("%s: selector %v selects no aisle pod (labels %v)", where, s.Spec.Selector, pod.Metadata.Labels)
			}
			selectsAggregate(where, s.Spec.Selector)
			for _, p := range s.Spec.Ports {
				target := resolvePort(t, where, p.TargetPort, pod.Spec.Containers[0].Ports)
				ok := false
				for _, cp := range pod.Spec.Containers[0].Ports {
					ok = ok || cp.ContainerPort == target
				}
				if !ok {
					t.Errorf("%s: port %s targets %d, which the pod does not expose", where, p.Name, target)
				}
			}
		case "PodDisruptionBudget":
			var s selectorSpec
			decodeStrict(t, m, &s)
			if !matches(s.Spec.Selector.MatchLabels, pod.Metadata.Labels) {
				t.Errorf("%s: selector %v selects no aisle pod", where, s.Spec.Selector.MatchLabels)
			}
			selectsAggregate(where, s.Spec.Selector.MatchLabels)
		case "HorizontalPodAutoscaler":
			var s selectorSpec
			decodeStrict(t, m, &s)
			ref := s.Spec.ScaleTargetRef
			if ref.Kind != "Deployment" || !slices.Contains(podNames, ref.Name) {
				t.Errorf("%s: scales %s %q, not the aisle Deployment %v", where, ref.Kind, ref.Name, podNames)
			}
			// One replica cannot keep serving through a PDB-respecting drain.
			if s.Spec.MinReplicas == nil || *s.Spec.MinReplicas < 2 || s.Spec.MaxReplicas < *s.Spec.MinReplicas {
				t.Errorf("%s: minReplicas %v maxReplicas %d; want 2 <= min <= max", where, s.Spec.MinReplicas, s.Spec.MaxReplicas)
			}
		}
	}
	for _, kind := range []string{"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServingRuntime"} {
		if seen[kind] == 0 {
			t.Errorf("no %s under deploy/", kind)
		}
	}
}

// TestDockerfileCommand checks the image's default command the same way:
// known flags, and the ports it binds are the ones the image exposes.
func TestDockerfileCommand(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(deployRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := dockerCmdRE.FindSubmatch(data)
	if m == nil {
		t.Fatal("Dockerfile: no CMD [...] line")
	}
	var args []string
	if err := json.Unmarshal(m[1], &args); err != nil {
		t.Fatalf("Dockerfile CMD: %v", err)
	}
	vals := serveArgs(t, "Dockerfile CMD", args, serveFlags(t))
	exposed := map[string]bool{}
	for _, e := range dockerExpose.FindAllSubmatch(data, -1) {
		for _, p := range strings.Fields(string(e[1])) {
			exposed[strings.TrimSuffix(p, "/tcp")] = true
		}
	}
	for _, flag := range []string{"grpc-addr", "http-addr"} {
		p := listenPort(t, "Dockerfile CMD", flag, vals)
		if !exposed[strconv.Itoa(p)] {
			t.Errorf("Dockerfile: --%s port %d is not EXPOSEd (%v)", flag, p, exposed)
		}
	}
	if !regexp.MustCompile(`(?m)^USER\s+[1-9]`).Match(data) {
		t.Error("Dockerfile: the image must run as a non-root USER (numeric, for runAsNonRoot)")
	}
}

func parseSeconds(s string) (float64, error) {
	if s == "" {
		s = "30s" // aisle serve's default
	}
	d, err := time.ParseDuration(s)
	return d.Seconds(), err
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

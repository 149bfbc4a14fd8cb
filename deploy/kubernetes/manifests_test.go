// Package kubernetes_test validates the manifests in this folder: kubectl
// builds them (kubectl kustomize, which needs no cluster), each document is
// decoded strictly into the Kubernetes API's own Go types (an unknown or
// misspelt field, a wrong type or a bad quantity fails), and the settings
// the gateway depends on are checked against each other.
package kubernetes_test

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/server"
	"github.com/portcullis/portcullis/internal/testbin"
)

func TestManifests(t *testing.T) {
	kubectl := testbin.Tool(t, "", "kubectl", "apt-get install -y kubernetes-client")
	out, err := exec.Command(kubectl, "kustomize", ".").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, exitStderr(err))
	}
	var (
		cm  corev1.ConfigMap
		dep appsv1.Deployment
		svc corev1.Service
		pdb policyv1.PodDisruptionBudget
		hpa autoscalingv2.HorizontalPodAutoscaler
		np  networkingv1.NetworkPolicy
	)
	targets := map[string]any{
		"v1/ConfigMap": &cm, "apps/v1/Deployment": &dep, "v1/Service": &svc,
		"policy/v1/PodDisruptionBudget": &pdb, "autoscaling/v2/HorizontalPodAutoscaler": &hpa,
		"networking.k8s.io/v1/NetworkPolicy": &np,
	}
	seen := map[string]bool{}
	for doc := range bytes.SplitSeq(out, []byte("\n---\n")) {
		var head struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal(doc, &head); err != nil {
			t.Fatal(err)
		}
		key := head.APIVersion + "/" + head.Kind
		into, ok := targets[key]
		if !ok {
			t.Errorf("unexpected document %s", key)
			continue
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Errorf("%s: %v", key, err)
		}
		seen[key] = true
	}
	for key := range targets {
		if !seen[key] {
			t.Errorf("no %s among the manifests", key)
		}
	}
	// Every file in the folder is in the kustomization.
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") && e.Name() != "kustomization.yaml" {
			if !bytes.Contains(mustRead(t, "kustomization.yaml"), []byte("- "+e.Name())) {
				t.Errorf("%s is not listed in kustomization.yaml", e.Name())
			}
		}
	}

	// The configuration is valid, and its settings agree with the pod's.
	f, err := config.Parse("configmap.yaml", []byte(cm.Data["portcullis.yaml"]), os.LookupEnv)
	if err != nil {
		t.Fatalf("the ConfigMap's portcullis.yaml: %v", err)
	}
	if _, err := server.Check(f); err != nil {
		t.Errorf("the ConfigMap's portcullis.yaml: %v", err)
	}
	spec := dep.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers", len(spec.Containers))
	}
	c := spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if !strings.HasSuffix(f.Config.Listen, ":8080") || ports["http"] != 8080 || !strings.HasSuffix(f.Config.AdminListen, ":9901") || ports["admin"] != 9901 {
		t.Errorf("listen %s admin_listen %s, container ports %v", f.Config.Listen, f.Config.AdminListen, ports)
	}
	s := f.Config.Server
	if s.ShutdownDelay == nil || spec.TerminationGracePeriodSeconds == nil ||
		s.ShutdownDelay.Std().Seconds()+s.ShutdownTimeout.Std().Seconds() >= float64(*spec.TerminationGracePeriodSeconds) {
		t.Errorf("terminationGracePeriodSeconds must exceed shutdown_delay + shutdown_timeout (%v + %v)", s.ShutdownDelay, s.ShutdownTimeout.Std())
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s probe: %+v, want GET %s on the admin port", name, p, path)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	if c.ReadinessProbe != nil && c.ReadinessProbe.PeriodSeconds*c.ReadinessProbe.FailureThreshold >= int32(s.ShutdownDelay.Std().Seconds()) {
		t.Errorf("readiness probe notices a draining pod after %ds, not within shutdown_delay", c.ReadinessProbe.PeriodSeconds*c.ReadinessProbe.FailureThreshold)
	}
	if !slices.Equal(c.Args, []string{"serve", "-c", "/etc/portcullis/portcullis.yaml", "--watch"}) {
		t.Errorf("args %q", c.Args)
	}
	sc, psc := c.SecurityContext, spec.SecurityContext
	if sc == nil || psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("security context: pod %+v container %+v", psc, sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources: %+v", c.Resources)
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update may take a ready pod away before its replacement is ready: %+v", ru)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		mounted = mounted || m.MountPath == "/etc/portcullis"
	}
	if !mounted || len(spec.Volumes) != 1 || spec.Volumes[0].ConfigMap == nil || spec.Volumes[0].ConfigMap.Name != cm.Name {
		t.Errorf("the ConfigMap is not mounted at /etc/portcullis: %+v %+v", c.VolumeMounts, spec.Volumes)
	}

	// The Service, the budget and the autoscaler all select the pods.
	labels := dep.Spec.Template.Labels
	matches := func(what string, sel map[string]string) {
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("%s selects %v, the pods are %v", what, sel, labels)
			}
		}
		if len(sel) == 0 {
			t.Errorf("%s selects nothing", what)
		}
	}
	matches("the Deployment", dep.Spec.Selector.MatchLabels)
	matches("the Service", svc.Spec.Selector)
	matches("the PodDisruptionBudget", pdb.Spec.Selector.MatchLabels)
	for _, p := range svc.Spec.Ports {
		if _, ok := ports[p.TargetPort.String()]; !ok {
			t.Errorf("service port %s targets %s, not a container port", p.Name, p.TargetPort.String())
		}
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != dep.Name {
		t.Errorf("the autoscaler scales %+v", ref)
	}
	// The autoscaler alone sets the count: a Deployment's replicas would
	// reset the scale at every apply.
	if dep.Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas: %d; the HorizontalPodAutoscaler owns the count", *dep.Spec.Replicas)
	}
	if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() >= int(*hpa.Spec.MinReplicas) {
		t.Errorf("minReplicas %v, PDB minAvailable %v: a node drain must be able to evict one pod", hpa.Spec.MinReplicas, pdb.Spec.MinAvailable)
	}

	checkNetworkPolicy(t, np, labels, ports)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// checkNetworkPolicy: the policy selects the pods and admits ingress only:
// the proxy port from anywhere, the admin port only from peers that are
// pods of this namespace or pods of a namespace named by its label, never
// from every namespace or an address block. ports maps the container's port
// names to numbers.
func checkNetworkPolicy(t *testing.T, np networkingv1.NetworkPolicy, podLabels map[string]string, ports map[string]int32) {
	t.Helper()
	sel := np.Spec.PodSelector.MatchLabels
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("the NetworkPolicy selects %v, the pods are %v", sel, podLabels)
		}
	}
	if len(sel) == 0 || len(np.Spec.PodSelector.MatchExpressions) != 0 {
		t.Errorf("the NetworkPolicy selects %+v, want the pods' labels", np.Spec.PodSelector)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
		t.Errorf("policyTypes %v: ingress is not restricted", np.Spec.PolicyTypes)
	}
	// covers tells whether rule admits traffic to the container port name.
	covers := func(rule networkingv1.NetworkPolicyIngressRule, name string) bool {
		if len(rule.Ports) == 0 {
			return true
		}
		for _, p := range rule.Ports {
			if p.Protocol != nil && *p.Protocol != corev1.ProtocolTCP {
				continue
			}
			switch {
			case p.Port == nil:
				return true
			case p.Port.Type == intstr.String:
				if _, ok := ports[p.Port.StrVal]; !ok {
					t.Errorf("the NetworkPolicy names port %q, not a container port", p.Port.StrVal)
				}
				if p.Port.StrVal == name {
					return true
				}
			case p.Port.IntVal == ports[name], p.EndPort != nil && p.Port.IntVal <= ports[name] && ports[name] <= *p.EndPort:
				return true
			}
		}
		return false
	}
	proxyOpen, adminReached := false, false
	for _, rule := range np.Spec.Ingress {
		if covers(rule, "http") && len(rule.From) == 0 {
			proxyOpen = true
		}
		if !covers(rule, "admin") {
			continue
		}
		if len(rule.From) == 0 {
			t.Errorf("ingress rule %+v opens the admin port to every source", rule)
		}
		for _, peer := range rule.From {
			ns := peer.NamespaceSelector
			switch {
			case peer.IPBlock != nil:
				t.Errorf("the admin port is open to the address block %+v", peer.IPBlock)
			case peer.PodSelector == nil && ns == nil:
				t.Errorf("the admin port is open to an empty peer")
			case ns != nil && (len(ns.MatchLabels) == 0 && len(ns.MatchExpressions) == 0):
				t.Errorf("the admin port is open to every namespace: %+v", peer)
			case ns != nil && (peer.PodSelector == nil || len(peer.PodSelector.MatchLabels) == 0 && len(peer.PodSelector.MatchExpressions) == 0):
				t.Errorf("the admin port is open to every pod of the namespaces %+v, want the monitoring pods only", ns)
			}
		}
		adminReached = true
	}
	if !proxyOpen {
		t.Errorf("the NetworkPolicy does not open the proxy port to every source: %+v", np.Spec.Ingress)
	}
	if !adminReached {
		t.Errorf("the NetworkPolicy lets nobody reach the admin port (metrics, readiness): %+v", np.Spec.Ingress)
	}
}

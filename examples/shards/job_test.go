// Package shards holds deployments that launch the shards of one replay
// (gsoreplay replay --shard K/N) with an existing scheduler; the test
// checks them against the Kubernetes API's own types.
package shards

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestIndexedJob: job.yaml is a batch/v1 Job by the API's schema (strict:
// an unknown or misplaced field fails), Indexed, with as many completions
// as parallelism and as the N of --shard, the index from
// JOB_COMPLETION_INDEX, the node's network, NET_RAW and the shared start.
func TestIndexedJob(t *testing.T) {
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict(data, &job); err != nil {
		t.Fatalf("job.yaml: %v", err)
	}
	s := job.Spec
	if job.APIVersion != "batch/v1" || job.Kind != "Job" || s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("not an Indexed batch/v1 Job: %s %s %v", job.APIVersion, job.Kind, s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != *s.Parallelism {
		t.Fatalf("completions %v, parallelism %v: all shards must run at once", s.Completions, s.Parallelism)
	}
	pod := s.Template.Spec
	if !pod.HostNetwork || pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("pod: hostNetwork %v, restart %s, %d containers", pod.HostNetwork, pod.RestartPolicy, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil || !slices.Contains(c.SecurityContext.Capabilities.Add, "NET_RAW") {
		t.Errorf("the container lacks CAP_NET_RAW")
	}
	cmd := strings.Join(append(append([]string(nil), c.Command...), c.Args...), " ")
	m := regexp.MustCompile(`--shard "\$JOB_COMPLETION_INDEX/(\d+)"`).FindStringSubmatch(cmd)
	if m == nil {
		t.Fatalf("no --shard \"$JOB_COMPLETION_INDEX/N\" in %q", cmd)
	}
	if n, _ := strconv.Atoi(m[1]); int32(n) != *s.Completions {
		t.Errorf("--shard .../%d but %d completions", n, *s.Completions)
	}
	if !strings.Contains(cmd, `--start-at "$START_AT"`) || !strings.Contains(cmd, "--json") {
		t.Errorf("the command lacks --start-at \"$START_AT\" or --json: %q", cmd)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "START_AT" && e.Value == "@START@" }) {
		t.Errorf("no START_AT placeholder (@START@) for the shared start")
	}
}

// TestSSHScript: the ssh launcher parses, and refuses to run without hosts.
func TestSSHScript(t *testing.T) {
	if out, err := exec.Command("bash", "-n", "ssh-shards.sh").CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v %s", err, out)
	}
	out, err := exec.Command("bash", "ssh-shards.sh").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage:") {
		t.Errorf("without hosts: %v %s", err, out)
	}
}

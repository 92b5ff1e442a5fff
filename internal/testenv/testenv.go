// Package testenv decides whether a test that needs root, network
// namespaces or outside tools can run: outside CI it is skipped when they are
// missing; in CI (CI=true), where it must run, it fails.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// RequireRoot skips or fails t unless it runs as root with tools on PATH.
func RequireRoot(t testing.TB, tools ...string) {
	t.Helper()
	missing := ""
	if os.Geteuid() != 0 {
		missing = "root"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = tool
		}
	}
	if missing == "" {
		return
	}
	Missing(t, missing)
}

// Missing skips t, or fails it in CI: what it needs is not available.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but %s is not available", what)
	}
	t.Skipf("needs %s", what)
}

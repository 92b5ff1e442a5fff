package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gsoreplay/gsoreplay/internal/testenv"
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// labLinks lists the links of this namespace that a lab could leave here
// (its veth ends are made in namespaces of its own): none, after any run.
func labLinks(t *testing.T) []string {
	t.Helper()
	var found []string
	for _, name := range []string{"gsr-a", "gsr-b", "gsr-a2", "gsr-b2"} {
		if _, err := os.Stat("/sys/class/net/" + name); err == nil {
			found = append(found, name)
		}
	}
	return found
}

// netnsHeld lists the network namespaces that process pid holds open
// and no process had before it started (existing): its lab's (netns
// handles show as "net:[inode]" among its files). Not "other than this
// process's": a test before may have left this process's main thread in a
// namespace of its own.
func netnsHeld(pid int, existing map[string]bool) map[string]bool {
	held := map[string]bool{}
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "net:[") && !existing[l] {
			held[l] = true
		}
	}
	return held
}

// netnsNow is every network namespace some process has, by a file or a
// thread: those a command holds beyond them are its own.
func netnsNow() map[string]bool {
	all := map[string]bool{}
	paths, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/*/ns/net")
	for _, p := range append(paths, tasks...) {
		if l, err := os.Readlink(p); err == nil && strings.HasPrefix(l, "net:[") {
			all[l] = true
		}
	}
	return all
}

// stillAlive names the namespaces of held that a process still has, by a
// file or a thread: after the run, a lab's namespaces must be gone.
func stillAlive(held map[string]bool) []string {
	var alive []string
	paths, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/*/ns/net")
	for _, p := range append(paths, tasks...) {
		if l, err := os.Readlink(p); err == nil && held[l] {
			alive = append(alive, p+" -> "+l)
		}
	}
	return alive
}

// TestSignals: SIGINT or SIGTERM in each phase of verify, verify --gro,
// replay and probe — the lab being built, frames being sent (and compared:
// verify compares while it sends), the output being waited for — stops
// the command within a second with status 130 (or, before it could catch
// the signal, killed by it, which a shell reports as 130 too), prints what
// was checked marked as interrupted, and leaves no namespace or link
// behind: the lab's namespaces, seen held by the command before the
// signal, are held by no process after, and no lab link is in this one.
func TestSignals(t *testing.T) {
	testenv.RequireRoot(t, "ip")
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	capPath := filepath.Join(dir, "flow.pcap")
	if err := craft.WriteFile(capPath, craft.Packets(craft.Flow(craft.TCPBulk(), 20000, nil))); err != nil {
		t.Fatal(err)
	}
	// Two veth pairs of this namespace: frames sent on gsrt-a0 never reach
	// gsrt-b1, so a verify from one to the other waits for its output.
	for _, p := range []string{"0", "1"} {
		if out, err := exec.Command("ip", "link", "add", "gsrt-a"+p, "type", "veth", "peer", "name", "gsrt-b"+p).CombinedOutput(); err != nil {
			t.Fatalf("ip link add: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("ip", "link", "del", "gsrt-a"+p).Run() })
		for _, l := range []string{"gsrt-a" + p, "gsrt-b" + p} {
			if out, err := exec.Command("ip", "link", "set", l, "up").CombinedOutput(); err != nil {
				t.Fatalf("ip link set up: %v %s", err, out)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		args   []string
		after  time.Duration
		sig    syscall.Signal
		report string // what the output must say, once the signal was caught
	}{
		{"verify, building the lab", []string{"verify", capPath}, 40 * time.Millisecond, syscall.SIGINT, ""},
		{"verify, sending and comparing", []string{"verify", "--pps", "5000", capPath}, 1500 * time.Millisecond, syscall.SIGINT, "INTERRUPTED"},
		{"verify, sending, SIGTERM", []string{"verify", "--pps", "5000", capPath}, 1500 * time.Millisecond, syscall.SIGTERM, "INTERRUPTED"},
		{"verify, waiting for the output", []string{"verify", "--iface", "gsrt-a0", "--capture-iface", "gsrt-b1", "--idle", "20s", capPath}, 1500 * time.Millisecond, syscall.SIGINT, "INTERRUPTED"},
		{"verify --gro, sending", []string{"verify", "--gro", "--pps", "5000", capPath}, 1500 * time.Millisecond, syscall.SIGINT, "GRO INTERRUPTED"},
		{"replay, sending", []string{"replay", "-i", "gsrt-a0", "--pps", "5000", capPath}, time.Second, syscall.SIGINT, "INTERRUPTED"},
		{"replay -K, looping for ever", []string{"replay", "-i", "gsrt-a0", "-K", "--loop", "0", "--topspeed", capPath}, time.Second, syscall.SIGTERM, "INTERRUPTED"},
		{"probe, between cases", []string{"probe"}, 1500 * time.Millisecond, syscall.SIGINT, "INTERRUPTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			existing := netnsNow()
			cmd := exec.Command(bin, tc.args...)
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(tc.after)
			lab := netnsHeld(cmd.Process.Pid, existing)
			sent := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatalf("the command ended before the signal: %v; %s %s", err, out.String(), errOut.String())
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 5 s after %v; %s %s", tc.sig, out.String(), errOut.String())
			}
			took := time.Since(sent)
			st := cmd.ProcessState.Sys().(syscall.WaitStatus)
			killed := st.Signaled() && st.Signal() == tc.sig
			switch {
			case killed && tc.report == "":
				// Before the command caught signals: the default action.
			case st.Exited() && st.ExitStatus() == 130:
				if tc.report != "" && !strings.Contains(out.String(), tc.report) {
					t.Errorf("the output does not say %q:\n%s", tc.report, out.String())
				}
				if !strings.Contains(errOut.String(), "interrupted") {
					t.Errorf("stderr does not say it was interrupted: %q", errOut.String())
				}
			default:
				t.Fatalf("exit %v after %v; stdout %s stderr %s", st, tc.sig, out.String(), errOut.String())
			}
			if took > time.Second {
				t.Errorf("%v after %v (more than a second)", took, tc.sig)
			}
			t.Logf("stopped %v after %v, %v", took.Round(time.Millisecond), tc.sig, st)
			t.Logf("the command held %d namespaces of its own", len(lab))
			if alive := stillAlive(lab); len(alive) > 0 {
				t.Errorf("the lab's namespaces live on: %q", alive)
			}
			if links := labLinks(t); len(links) > 0 {
				t.Errorf("lab links left in this namespace: %q", links)
			}
		})
	}
	_ = os.Remove(capPath)
}

package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/safchain/ethtool"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ReceiverGRO turns GRO on at B's end and makes its NAPI poll wait: with
// gro_flush_timeout and napi_defer_hard_irqs, frames sent back to back
// reach GRO in one poll and can merge (alone, each frame has a poll of its
// own and never merges). The sysfs files of B's interface are reached
// through a sysfs mounted in a mount namespace of a thread that then ends.
func (l *Lab) ReceiverGRO(flushTimeout time.Duration, deferIRQs int) error {
	if err := l.Do(l.B, func() error {
		et, err := ethtool.NewEthtool()
		if err != nil {
			return fmt.Errorf("lab: ethtool: %w", err)
		}
		defer et.Close()
		if err := et.Change(l.IfB, map[string]bool{"rx-gro": true}); err != nil {
			return fmt.Errorf("lab: ethtool -K %s gro on: %w", l.IfB, err)
		}
		// UDP GRO without a socket that asks for it (udp_gro_receive)
		// happens for forwarding: rx-udp-gro-forwarding.
		if err := et.Change(l.IfB, map[string]bool{"rx-udp-gro-forwarding": true}); err != nil {
			return fmt.Errorf("lab: ethtool -K %s rx-udp-gro-forwarding on: %w", l.IfB, err)
		}
		return nil
	}); err != nil {
		return err
	}
	return WriteSysfs(l.B, l.IfB, map[string]string{
		"gro_flush_timeout":    strconv.FormatInt(flushTimeout.Nanoseconds(), 10),
		"napi_defer_hard_irqs": strconv.Itoa(deferIRQs),
	})
}

// WriteSysfs writes files of /sys/class/net/IFACE for an interface of
// namespace ns: sysfs shows the devices of the namespace it was mounted in,
// so a thread of its own enters ns and a new mount namespace, mounts sysfs
// there, writes, and ends with its namespaces (it is never handed back to
// Go's scheduler). ns -1 is the current namespace.
func WriteSysfs(ns netns.NsHandle, iface string, files map[string]string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with its namespaces
		errc <- writeSysfs(ns, iface, files)
	}()
	return <-errc
}

func writeSysfs(ns netns.NsHandle, iface string, files map[string]string) error {
	if ns >= 0 {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("lab: setns: %w", err)
		}
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("lab: new mount namespace: %w", err)
	}
	// Nothing mounted here may reach the host's mounts.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("lab: private mounts: %w", err)
	}
	dir, err := os.MkdirTemp("", "gsoreplay-sysfs")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	if err := unix.Mount("sysfs", dir, "sysfs", 0, ""); err != nil {
		return fmt.Errorf("lab: mount sysfs: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	for name, v := range files {
		path := filepath.Join(dir, "class", "net", iface, name)
		if err := os.WriteFile(path, []byte(v), 0o644); err != nil {
			return fmt.Errorf("lab: %s %s: %w", iface, name, err)
		}
	}
	return nil
}

package lab

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// SoftnetDrops sums column 2 of /proc/net/softnet_stat: frames a CPU's
// backlog dropped, which no socket or interface counter shows.
func SoftnetDrops() (uint64, error) {
	f, err := os.Open("/proc/net/softnet_stat")
	if err != nil {
		return 0, fmt.Errorf("softnet drops: %w", err)
	}
	defer f.Close()
	var total uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Fields(sc.Text())
		if len(cols) < 2 {
			continue
		}
		v, err := strconv.ParseUint(cols[1], 16, 64)
		if err != nil {
			return 0, fmt.Errorf("softnet drops: /proc/net/softnet_stat: %w", err)
		}
		total += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("softnet drops: %w", err)
	}
	return total, nil
}

// BacklogLimit is net.core.netdev_max_backlog: how many frames one CPU's
// receive backlog holds (0 if it cannot be read).
func BacklogLimit() int {
	b, err := os.ReadFile("/proc/sys/net/core/netdev_max_backlog")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

package lab

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// InterfaceIndex is the index of the interface name in the calling thread's
// network namespace, with an error worded for a person when there is none.
func InterfaceIndex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		if strings.Contains(err.Error(), "no such network interface") {
			return 0, fmt.Errorf("no interface %q in this network namespace", name)
		}
		return 0, fmt.Errorf("interface %s: %w", name, err)
	}
	return ifi.Index, nil
}

// SoftnetDrops sums column 2 of /proc/net/softnet_stat: frames a CPU's
// backlog dropped, which no socket or interface counter shows.
func SoftnetDrops() uint64 {
	f, err := os.Open("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	var total uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Fields(sc.Text())
		if len(cols) > 1 {
			v, _ := strconv.ParseUint(cols[1], 16, 64)
			total += v
		}
	}
	return total
}

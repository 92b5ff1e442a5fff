package lab

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ipDropFields are the counters of /proc/net/snmp (IPv4: "Ip:" rows of
// names and values) and /proc/net/snmp6 (IPv6: one "name value" a line)
// that count packets the IP layer of a namespace threw away on the way in
// or out: what a router loses that no interface counter shows.
var ipDropFields = map[string]bool{
	"InHdrErrors": true, "InAddrErrors": true, "InDiscards": true, "OutDiscards": true,
	"OutNoRoutes": true, "FragFails": true,
	"Ip6InHdrErrors": true, "Ip6InTooBigErrors": true, "Ip6InNoRoutes": true, "Ip6InAddrErrors": true,
	"Ip6InTruncatedPkts": true, "Ip6InDiscards": true, "Ip6OutDiscards": true, "Ip6OutNoRoutes": true,
	"Ip6FragFails": true,
}

// IPDrops reads the IP layer's drop counters of the calling thread's
// namespace, named "IPv4 InHdrErrors", "IPv6 Ip6InTruncatedPkts" and so on.
func IPDrops() (map[string]uint64, error) {
	d := map[string]uint64{}
	f, err := os.Open("/proc/thread-self/net/snmp")
	if err != nil {
		return nil, fmt.Errorf("IP drops: %w", err)
	}
	err = snmpRows(f, d)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("IP drops: /proc/net/snmp: %w", err)
	}
	f, err = os.Open("/proc/thread-self/net/snmp6")
	if os.IsNotExist(err) {
		return d, nil // no IPv6
	} else if err != nil {
		return nil, fmt.Errorf("IP drops: %w", err)
	}
	defer f.Close()
	if err := snmp6Lines(f, d); err != nil {
		return nil, fmt.Errorf("IP drops: /proc/net/snmp6: %w", err)
	}
	return d, nil
}

// snmpRows reads the "Ip:" header and value rows of /proc/net/snmp.
func snmpRows(r io.Reader, d map[string]uint64) error {
	sc := bufio.NewScanner(r)
	var names []string
	for sc.Scan() {
		cols := strings.Fields(sc.Text())
		if len(cols) == 0 || cols[0] != "Ip:" {
			continue
		}
		if names == nil {
			names = cols[1:]
			continue
		}
		if len(cols)-1 != len(names) {
			return fmt.Errorf("%d values for %d names", len(cols)-1, len(names))
		}
		for i, n := range names {
			if ipDropFields[n] {
				v, err := strconv.ParseUint(cols[i+1], 10, 64)
				if err != nil {
					return fmt.Errorf("%s: %w", n, err)
				}
				d["IPv4 "+n] = v
			}
		}
		return nil
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("no Ip: rows")
}

// snmp6Lines reads the "name value" lines of /proc/net/snmp6.
func snmp6Lines(r io.Reader, d map[string]uint64) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		cols := strings.Fields(sc.Text())
		if len(cols) != 2 || !ipDropFields[cols[0]] {
			continue
		}
		v, err := strconv.ParseUint(cols[1], 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %w", cols[0], err)
		}
		d["IPv6 "+cols[0]] = v
	}
	return sc.Err()
}

package lab

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The addresses the lab router's source NAT (RouterOptions.SNAT) writes
// into what it forwards: documentation prefixes (RFC 5737, RFC 3849),
// never a real host's.
var (
	SNAT4 = netip.MustParseAddr("198.51.100.71")
	SNAT6 = netip.MustParseAddr("2001:db8::4753:71")
)

// addSNAT gives the router, in its namespace ns, one nftables table per
// IP version whose postrouting chain source-NATs everything forwarded to
// SNAT4 or SNAT6, as a masquerading home router or a Kubernetes node does:
// conntrack follows each flow and nf_nat rewrites the source address and
// the checksums, of a GRO packet once for all its segments. TCP window
// tracking is made liberal, so that a capture's one-way flows are not
// found out of window and sent on untranslated.
func addSNAT(ns int) error {
	if err := writeSysctls(map[string]string{"net/netfilter/nf_conntrack_tcp_be_liberal": "1"}); err != nil {
		return err
	}
	c, err := nftables.New(nftables.WithNetNSFd(ns))
	if err != nil {
		return fmt.Errorf("lab: nftables: %w", err)
	}
	for _, v := range []struct {
		family nftables.TableFamily
		proto  uint32
		addr   netip.Addr
	}{{nftables.TableFamilyIPv4, unix.NFPROTO_IPV4, SNAT4}, {nftables.TableFamilyIPv6, unix.NFPROTO_IPV6, SNAT6}} {
		t := c.AddTable(&nftables.Table{Family: v.family, Name: "gsoreplay"})
		ch := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
			&expr.Immediate{Register: 1, Data: v.addr.AsSlice()},
			&expr.NAT{Type: expr.NATTypeSourceNAT, Family: v.proto, RegAddrMin: 1},
		}})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("lab: nftables source NAT: %w", err)
	}
	return nil
}

package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
	"github.com/gsoreplay/gsoreplay/coalesce/rewrite"
)

// rewriteFlags are tcprewrite's editing options, with its names and syntax,
// shared by coalesce, replay and verify.
func rewriteFlags() []cli.Flag {
	cat := "Rewriting (as tcprewrite)"
	return []cli.Flag{
		&cli.StringFlag{Category: cat, Name: "enet-dmac", Usage: "set the destination MAC: `MAC`, or MAC1,MAC2 for the primary (client to server) and secondary side"},
		&cli.StringFlag{Category: cat, Name: "enet-smac", Usage: "set the source MAC: `MAC`, or MAC1,MAC2 as for --enet-dmac"},
		&cli.StringFlag{Category: cat, Name: "pnat", Aliases: []string{"N"}, Usage: "pseudo-NAT source and destination addresses: `FROM:TO,...` CIDR pairs, IPv6 in brackets ([2001:db8::/32]:[fd00::/16]); network bits from TO, host bits kept; first match wins"},
		&cli.StringFlag{Category: cat, Name: "pnat2", Usage: "the secondary side's --pnat list (tcprewrite's second --pnat)"},
		&cli.StringFlag{Category: cat, Name: "srcipmap", Aliases: []string{"S"}, Usage: "as --pnat, source addresses only: `FROM:TO,...`"},
		&cli.StringFlag{Category: cat, Name: "dstipmap", Aliases: []string{"D"}, Usage: "as --pnat, destination addresses only: `FROM:TO,...`"},
		&cli.StringFlag{Category: cat, Name: "portmap", Aliases: []string{"r"}, Usage: "map TCP/UDP ports: `FROM:TO,...` with FROM a port, LO-HI or ports joined by commas (80:8080, 8000-8999:80, 8000,8080:80)"},
		&cli.StringFlag{Category: cat, Name: "ttl", Usage: "TTL / hop limit: `N` sets, +N adds, -N subtracts (kept in 1..255)"},
		&cli.StringFlag{Category: cat, Name: "enet-vlan", Usage: "802.1Q tag: `add` (needs --enet-vlan-tag), del, or edit (the outer tag's given fields; not in tcprewrite)"},
		&cli.IntFlag{Category: cat, Name: "enet-vlan-tag", Value: -1, DefaultText: "keep", Usage: "VLAN `ID` 0..4095"},
		&cli.IntFlag{Category: cat, Name: "enet-vlan-pri", Value: -1, DefaultText: "keep, 0 on add", Usage: "priority `0..7`"},
		&cli.IntFlag{Category: cat, Name: "enet-vlan-cfi", Value: -1, DefaultText: "keep, 0 on add", Usage: "CFI/DEI `0|1`"},
		&cli.IntFlag{Category: cat, Name: "mtu", Value: 1500, Usage: "the `MTU` --mtu-trunc cuts to (68..65535)"},
		&cli.BoolFlag{Category: cat, Name: "mtu-trunc", Usage: "cut frames whose IP packet is longer than --mtu down to it, fixing the IP length and checksums (frame by frame: replay and verify then send without merging)"},
		&cli.BoolFlag{Category: cat, Name: "fixcsum", Aliases: []string{"C"}, Usage: "recompute every IP, TCP, UDP and ICMPv6 checksum (else only those an edit touches: incrementally for addresses, fully where a port or TTL changed, as tcprewrite)"},
	}
}

// rewriteFrom reads the rewriting flags; nil when none is set.
func rewriteFrom(c *cli.Context) (*rewrite.Options, error) {
	o := rewrite.Options{VLANTag: c.Int("enet-vlan-tag"), VLANPri: c.Int("enet-vlan-pri"), VLANCFI: c.Int("enet-vlan-cfi"), FixCsum: c.Bool("fixcsum"),
		MTU: c.Int("mtu"), MTUTrunc: c.Bool("mtu-trunc")}
	if c.IsSet("mtu") && !o.MTUTrunc {
		return nil, usagef("%s: --mtu is the length --mtu-trunc cuts to: give --mtu-trunc too", c.Command.Name)
	}
	var err error
	str := func(name string, parse func(string) error) {
		if err == nil && c.IsSet(name) {
			if err = parse(c.String(name)); err != nil {
				err = rewriteFlagError(c, name, c.String(name), err)
			}
		}
	}
	str("enet-dmac", func(v string) (e error) { o.DstMAC, e = rewrite.ParseMACs("DstMAC", v); return })
	str("enet-smac", func(v string) (e error) { o.SrcMAC, e = rewrite.ParseMACs("SrcMAC", v); return })
	str("pnat", func(v string) (e error) { o.PNAT[0], e = rewrite.ParseCIDRMaps("PNAT", v); return })
	str("pnat2", func(v string) (e error) { o.PNAT[1], e = rewrite.ParseCIDRMaps("PNAT", v); return })
	str("srcipmap", func(v string) (e error) { o.SrcIPMap, e = rewrite.ParseCIDRMaps("SrcIPMap", v); return })
	str("dstipmap", func(v string) (e error) { o.DstIPMap, e = rewrite.ParseCIDRMaps("DstIPMap", v); return })
	str("portmap", func(v string) (e error) { o.PortMap, e = rewrite.ParsePortMaps(v); return })
	str("ttl", func(v string) (e error) { o.TTL, o.TTLValue, e = rewrite.ParseTTL(v); return })
	str("enet-vlan", func(v string) (e error) { o.VLAN, e = rewrite.ParseVLANMode(v); return })
	if err != nil {
		return nil, err
	}
	if (c.IsSet("enet-vlan-tag") || c.IsSet("enet-vlan-pri") || c.IsSet("enet-vlan-cfi")) && o.VLAN == rewrite.VLANKeep {
		return nil, usagef("%s: --enet-vlan-tag, -pri and -cfi need --enet-vlan add or edit", c.Command.Name)
	}
	if c.IsSet("pnat2") && !c.IsSet("pnat") {
		return nil, usagef("%s: --pnat2 needs --pnat", c.Command.Name)
	}
	if err := o.Validate(); err != nil {
		return nil, rewriteValidateError(c, &o, err)
	}
	if o.Empty() {
		return nil, nil
	}
	for _, w := range o.Warnings() {
		fmt.Fprintf(c.App.ErrWriter, "gsoreplay %s: warning: --%s: %s\n", c.Command.Name, rewriteOptionFlag(w.Option), w.Text)
	}
	return &o, nil
}

// rewriteOptionFlags names the flag behind each rewrite option that
// Validate or Warnings may name.
var rewriteOptionFlags = map[string]string{
	"PNAT": "pnat", "SrcIPMap": "srcipmap", "DstIPMap": "dstipmap", "PortMap": "portmap",
	"VLANTag": "enet-vlan-tag", "VLANPri": "enet-vlan-pri", "VLANCFI": "enet-vlan-cfi", "MTU": "mtu",
}

func rewriteOptionFlag(option string) string {
	if f, ok := rewriteOptionFlags[option]; ok {
		return f
	}
	return option
}

// rewriteFlagError is a usage error for the value v of the flag name that
// a rewrite parser refused (its *coalesce.OptionError names the option).
func rewriteFlagError(c *cli.Context, name, v string, err error) error {
	var oe *coalesce.OptionError
	if errors.As(err, &oe) {
		return usagef("%s: --%s %q: %s", c.Command.Name, name, v, oe.Want)
	}
	return usagef("%s: --%s %q: %v", c.Command.Name, name, v, err)
}

// rewriteValidateError is a usage error, in the flags' words, for what
// rewrite.Options.Validate refused in o.
func rewriteValidateError(c *cli.Context, o *rewrite.Options, err error) error {
	var oe *coalesce.OptionError
	switch {
	case !errors.As(err, &oe):
		return usagef("%s: %v", c.Command.Name, err)
	case oe.Option == "VLANTag" && o.VLANTag < 0:
		return usagef(`%s: --enet-vlan-tag "": --enet-vlan add needs a tag`, c.Command.Name)
	case oe.Option == "PNAT":
		return usagef(`%s: --pnat "": cannot be combined with --srcipmap or --dstipmap (as in tcprewrite)`, c.Command.Name)
	}
	return usagef("%s: --%s %q: %s", c.Command.Name, rewriteOptionFlag(oe.Option), oe.Value, oe.Want)
}

// unmatched warns of the maps that matched nothing, after the work: a
// typo in a CIDR block otherwise passes silently.
func unmatched(c *cli.Context, o *rewrite.Options, st rewrite.Stats) {
	if o == nil {
		return
	}
	say := func(flag string, n int64) {
		if n == 0 {
			fmt.Fprintf(c.App.ErrWriter, "gsoreplay %s: warning: --%s matched no packet\n", c.Command.Name, flag)
		}
	}
	if len(o.PNAT[0]) > 0 {
		say("pnat", st.SrcMapped+st.DstMapped)
	}
	if len(o.SrcIPMap) > 0 {
		say("srcipmap", st.SrcMapped)
	}
	if len(o.DstIPMap) > 0 {
		say("dstipmap", st.DstMapped)
	}
	if len(o.PortMap) > 0 {
		say("portmap", st.PortMapped)
	}
}

package main

import (
	"io"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/pcaps"
	"github.com/gsoreplay/gsoreplay/replay/split"
)

// splitFlags are tcpreplay's two-interface options and the built-in split.
func splitFlags() []cli.Flag {
	cat := "Two interfaces (as tcpreplay -i A -I B)"
	return []cli.Flag{
		&cli.StringFlag{Category: cat, Name: "intf2", Aliases: []string{"I"}, Usage: "send the secondary side (server to client) on interface `IFACE2`; needs --cachefile or --split"},
		&cli.StringFlag{Category: cat, Name: "cachefile", Aliases: []string{"c"}, Usage: "a tcpprep cache `FILE` of this capture says each packet's side (and which are not sent)"},
		&cli.StringFlag{Category: cat, Name: "split", Usage: "the sides without tcpprep, as its modes: `client` (a first pass classifies hosts as tcpprep --auto=client: SYN senders, DNS askers are clients, their packets primary; hosts without a clue clients), server (those servers), cidr:NET,... (packets from these networks primary, tcpprep --cidr) or port[:PORTS] (TCP/UDP to a server port, 0-1023 or PORTS, primary, tcpprep --port); frames that are not IP go secondary, as tcpprep sends them"},
	}
}

// splitFrom reads the two-interface flags for the capture in; nil without
// them. A cache must number this capture's packets: counted first, so that
// a cache of another capture is refused before anything is sent. lab says
// the command builds its second interface itself (verify in a lab).
func splitFrom(c *cli.Context, in string, lab bool) (split.Splitter, error) {
	cache, mode, two := c.String("cachefile"), c.String("split"), c.String("intf2")
	if lab && (cache != "" || mode != "") {
		two = "the lab's second pair"
	}
	switch {
	case cache == "" && mode == "" && two == "":
		return nil, nil
	case two == "":
		return nil, usagef("%s: --cachefile and --split need a second interface (-I IFACE2)", c.Command.Name)
	case cache == "" && mode == "":
		return nil, usagef("%s: -I %s needs --cachefile FILE (tcpprep) or --split MODE to say which packets leave by it", c.Command.Name, two)
	case cache != "" && mode != "":
		return nil, usagef("%s: choose one of --cachefile and --split", c.Command.Name)
	}
	if cache != "" {
		sc, err := split.ReadCacheFile(cache)
		if err != nil {
			return nil, usagef("%v", err)
		}
		n, err := countPackets(in)
		if err != nil {
			return nil, err
		}
		if n != sc.Packets {
			return nil, usagef("%s numbers %d packets, %s holds %d: a cache file of another capture", cache, sc.Packets, in, n)
		}
		return sc, nil
	}
	m, err := split.Parse(mode)
	if err != nil {
		return nil, usagef("%s: --split %v", c.Command.Name, err)
	}
	return m.Splitter(func() (*pcaps.Reader, error) { return openCapture(in, pcaps.OpenOptions{}) })
}

// countPackets reads a capture to its end, counting its packets.
func countPackets(path string) (int64, error) {
	r, err := openCapture(path, pcaps.OpenOptions{})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var p pcaps.Packet
	for {
		if err := r.Next(&p); err == io.EOF {
			return r.Count(), nil
		} else if err != nil {
			return 0, err
		}
	}
}

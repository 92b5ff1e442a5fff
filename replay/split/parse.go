package split

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// Mode is a built-in split, as Parse reads it: tcpprep's auto modes, which
// learn the hosts' roles in a first pass over the capture (Hosts), or a
// rule that needs no pass (CIDR, Ports). The zero Mode is no split: a
// nil Splitter.
type Mode struct {
	// Learn says the sides come from the hosts' roles, learnt in a first
	// pass over the capture (Learn); Unknown is then the side of a host
	// without a clue.
	Learn   bool
	Unknown Side
	rule    Splitter // when !Learn
}

// ErrMode is Parse's error for a mode it does not know.
var ErrMode = errors.New("want client, server, cidr:NET,... or port[:PORTS]")

// Parse reads a built-in split by the name of its tcpprep mode: "client"
// or "server" (tcpprep --auto=client or =server: Hosts, a host without a
// clue a client or a server), "cidr:NET,..." (tcpprep --cidr: CIDR), or
// "port" or "port:PORTS" (tcpprep --port: Ports, with the server ports
// 0-1023 or PORTS). Its errors begin with s; a mode it does not know is
// ErrMode.
func Parse(s string) (Mode, error) {
	switch {
	case s == "client":
		return Mode{Learn: true, Unknown: Primary}, nil
	case s == "server":
		return Mode{Learn: true, Unknown: Secondary}, nil
	case s == "port" || strings.HasPrefix(s, "port:"):
		p, err := ParsePorts(strings.TrimPrefix(strings.TrimPrefix(s, "port"), ":"))
		if err != nil {
			return Mode{}, fmt.Errorf("%s: %w", s, err)
		}
		return Mode{rule: p}, nil
	case strings.HasPrefix(s, "cidr:"):
		c, err := ParseCIDR(strings.TrimPrefix(s, "cidr:"))
		if err != nil {
			return Mode{}, fmt.Errorf("%s: %w", s, err)
		}
		return Mode{rule: c}, nil
	}
	return Mode{}, fmt.Errorf("%q: %w", s, ErrMode)
}

// Splitter returns the mode's Splitter. A Learn mode reads the capture
// open opens to its end first (Learn) and closes it; the others open
// nothing.
func (m Mode) Splitter(open func() (*pcaps.Reader, error)) (Splitter, error) {
	if !m.Learn {
		return m.rule, nil
	}
	r, err := open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return Learn(r, m.Unknown)
}

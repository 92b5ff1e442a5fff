package coalesce_test

import (
	"github.com/gsoreplay/gsoreplay/pcaps/craft"
)

// Test frames come from craft, which builds them without the coalescer's
// code: an independent check.
type pkt = craft.Frame

var tsOpt = craft.TSOpt

func tcpPkt() pkt { return craft.TCPBulk() }
func udpPkt() pkt { return craft.UDPBulk() }

func payloadOf(n int, seed byte) []byte { return craft.Payload(n, seed) }

func flow(base pkt, n int, mut func(k int, p *pkt)) []pkt { return craft.Flow(base, n, mut) }

// at changes segment i of a flow, from every segment from i on.
func at(i int, f func(p *pkt)) func(k int, p *pkt) {
	return func(k int, p *pkt) {
		if k == i {
			f(p)
		}
	}
}

func from(i int, f func(p *pkt)) func(k int, p *pkt) {
	return func(k int, p *pkt) {
		if k >= i {
			f(p)
		}
	}
}

package header

import "encoding/binary"

// UDP tunnels that carry Ethernet frames: VXLAN (RFC 7348) and GENEVE
// (RFC 8926). Linux segments such a packet's inner TCP or UDP packet with
// the outer headers copied onto every segment (skb_udp_tunnel_segment);
// it does not read the tunnel header itself, so these views serve to find
// where the inner frame starts and which bytes must be equal across a run.
const (
	VXLANPort      = 4789 // IANA
	VXLANLinuxPort = 8472 // Linux's default before the IANA port
	GenevePort     = 6081
	VXLANSize      = 8
	GeneveMinSize  = 8
	// EtherTypeTEB is GENEVE's protocol type for an Ethernet frame
	// (transparent Ethernet bridging).
	EtherTypeTEB = 0x6558
	vxlanFlagI   = 0x08 // the VNI is valid
)

// VXLAN is a VXLAN header followed by the inner Ethernet frame.
type VXLAN []byte

// IsValid reports whether b holds the header with the I flag set.
func (b VXLAN) IsValid() bool { return len(b) >= VXLANSize && b[0]&vxlanFlagI != 0 }

// VNI is the 24-bit network identifier.
func (b VXLAN) VNI() uint32 { return binary.BigEndian.Uint32(b[4:8]) >> 8 }

// Geneve is a GENEVE header, its options, then the inner frame.
type Geneve []byte

// IsValid reports whether b holds a version 0 header and its options.
func (b Geneve) IsValid() bool {
	return len(b) >= GeneveMinSize && b[0]>>6 == 0 && len(b) >= b.HeaderLength()
}

// HeaderLength is the header with its options.
func (b Geneve) HeaderLength() int { return GeneveMinSize + int(b[0]&0x3f)*4 }

// ProtocolType is the inner frame's EtherType (EtherTypeTEB for Ethernet).
func (b Geneve) ProtocolType() uint16 { return binary.BigEndian.Uint16(b[2:4]) }

// VNI is the 24-bit virtual network identifier.
func (b Geneve) VNI() uint32 { return binary.BigEndian.Uint32(b[4:8]) >> 8 }

// TunnelKind names a UDP tunnel.
type TunnelKind uint8

// Tunnel kinds.
const (
	NoTunnel TunnelKind = iota
	TunnelVXLAN
	TunnelGeneve
)

func (k TunnelKind) String() string {
	return [...]string{"none", "vxlan", "geneve"}[k]
}

// EthernetTunnel reads the UDP datagram uh as a tunnel by its destination
// port: VXLAN on 4789 or 8472, GENEVE on 6081 with an Ethernet frame
// inside. It returns the kind and the length of the tunnel header (the
// inner Ethernet frame starts after it), or NoTunnel.
func EthernetTunnel(uh UDP) (TunnelKind, int) {
	if !uh.IsValid() {
		return NoTunnel, 0
	}
	p := uh.Payload()
	switch uh.DestinationPort() {
	case VXLANPort, VXLANLinuxPort:
		if VXLAN(p).IsValid() {
			return TunnelVXLAN, VXLANSize
		}
	case GenevePort:
		if g := Geneve(p); g.IsValid() && g.ProtocolType() == EtherTypeTEB {
			return TunnelGeneve, g.HeaderLength()
		}
	}
	return NoTunnel, 0
}

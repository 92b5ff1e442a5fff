// Package tap is the second way into the kernel's segmentation: a tap
// device opened with IFF_VNET_HDR, the path a VM's virtio-net packets take
// (tun_get_user). A packet socket takes the 10-byte virtio_net_hdr only;
// a tap also takes the 24-byte virtio_net_hdr_v1_hash_tunnel, whose
// offsets let Linux 6.17 and later segment UDP tunnel super-packets (VXLAN,
// GENEVE: gso.UDPTunnel4, gso.UDPTunnel6).
//
// What is written to a tap arrives as if received on it. Redirect moves
// it on to the interface to send on, unchanged, with a tc ingress
// u32 filter that matches all and a mirred egress redirect (over netlink): the
// super-packet reaches that interface's transmit path whole and is
// segmented there in software, or by a NIC that can. The interface keeps
// its addresses and routes; nothing is bridged.
//
//	t, err := tap.Open("gsr-tap0", true) // 24-byte headers, tunnel GSO
//	defer t.Close()
//	err = t.Redirect("eth0")
//	h.EncodeTunnel(hdr[:])
//	err = t.Write(hdr[:], frame)
package tap

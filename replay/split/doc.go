// Package split decides which of two interfaces each packet of a capture
// leaves by, as tcpreplay's two-interface replay does (tcpreplay -i A -I B):
// the primary side (A: client to server, tcpprep's C2S) or the secondary
// (B). A Splitter answers per packet: from a tcpprep cache file (Cache, the
// format Debian's 4.4 and 4.6's tcpprep write), or built in — Hosts, which
// learns in a first pass which hosts open TCP connections (clients) and
// which accept them (servers), and CIDR, which puts packets from given
// networks on the primary side as tcpprep --cidr does; Parse reads a
// built-in split by the name of its tcpprep mode.
package split

// Package afpacket opens the AF_PACKET sockets that gsoreplay sends and
// captures with: the one place that creates them, binds them to an
// interface and sets their options, so that every socket of the tool is
// made the same way and every error names the option and the interface.
//
// Linux only; on other systems the package is empty.
package afpacket

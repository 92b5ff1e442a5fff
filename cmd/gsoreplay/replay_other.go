//go:build !linux

package main

import (
	"errors"

	"github.com/urfave/cli/v2"
)

// replay and verify use AF_PACKET, network namespaces and ethtool: Linux only.
func replayCommand() *cli.Command { return linuxOnly("replay") }
func verifyCommand() *cli.Command { return linuxOnly("verify") }
func probeCommand() *cli.Command  { return linuxOnly("probe") }

func linuxOnly(name string) *cli.Command {
	return &cli.Command{
		Name:   name,
		Usage:  "(Linux only)",
		Action: func(*cli.Context) error { return errors.New(name + " needs Linux (AF_PACKET, network namespaces)") },
	}
}

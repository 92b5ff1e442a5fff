//go:build !linux

package main

import (
	"errors"
	"time"
)

func bare(string, int64, int, int, int, bool, int) error {
	return errors.New("bare needs Linux (AF_PACKET)")
}

func bareFile(string, string, int, int, int) error { return errors.New("bare needs Linux (AF_PACKET)") }

func watch(string, int64, time.Duration) error {
	return errors.New("watch needs Linux (/sys/class/net)")
}

func xdp(string, string) error { return errors.New("xdp needs Linux (AF_XDP)") }

func labCapture(string) error { return errors.New("labcapture needs Linux (network namespaces)") }

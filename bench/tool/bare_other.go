//go:build !linux

package main

import (
	"errors"
	"time"
)

func bare(string, time.Duration, int) error {
	return errors.New("bare needs Linux (AF_PACKET)")
}

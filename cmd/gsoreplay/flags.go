package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/gsoreplay/gsoreplay/coalesce"
)

// optionFlags names the flag behind each library option, so that a value
// the library refuses is reported in the user's words.
var optionFlags = map[string]string{
	"MaxBytes": "--max-bytes", "MaxSegments": "--max-segments", "MaxSpan": "--max-span",
	"MaxHeld": "--max-held", "MaxFlows": "--max-flows", "Order": "--order",
	"MSS": "--mss", "Loops": "--loop", "Batch": "--batch", "Threads": "--threads", "CPUs": "--cpus",
	"FlushTimeout": "--gro-flush-timeout", "DeferIRQs": "--napi-defer-hard-irqs", "Timeout": "--timeout",
}

// flagError turns a library's option error into a usage error that names
// the flag; other errors pass unchanged (nil stays nil).
func flagError(_ *cli.Context, err error) error {
	var oe *coalesce.OptionError
	if !errors.As(err, &oe) {
		return err
	}
	if oe.Option == "Limit" || oe.Option == "Duration" {
		return usagef("--limit and --duration must not be negative")
	}
	name, ok := optionFlags[oe.Option]
	if !ok {
		name = oe.Option
	}
	return usagef("%s %s: %s", name, oe.Value, oe.Want)
}

// Command gsoreplay turns packet captures into GSO super-packets and back.
//
// Exit status: 0 on success, 1 on failure, 2 on bad usage.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/gsoreplay/gsoreplay/pcaps"
)

// usageError marks errors that exit with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run is main without the exit, for tests.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	notFound := ""
	app.CommandNotFound = func(_ *cli.Context, name string) { notFound = name }
	err := app.Run(args)
	if notFound != "" {
		fmt.Fprintf(stderr, "gsoreplay: no command %q; see gsoreplay --help\n", notFound)
		return 2
	}
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "gsoreplay: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	return 1
}

// exitInterrupted is the status of a run stopped by SIGINT or SIGTERM
// (Ctrl-C): 128 + SIGINT, as shells report it.
const exitInterrupted = 130

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "gsoreplay",
		Usage: "turn packet captures into GSO super-packets and back",
		Description: `gsoreplay is GRO in reverse for captures. "coalesce" merges runs of TCP/UDP
segments (and IPv4 fragment trains) into super-packets with a virtio_net_hdr, only where Linux's
segmentation gives back the original frames byte for byte; "segment" is the
reference software GSO that restores them; "inspect" tells what a capture
holds and how well it coalesces. "replay" sends a capture through an interface
as GSO super-packets for the kernel or the NIC to segment; "verify" does it in
a private lab and proves that what comes out is the original trace.

  gsoreplay inspect capture.pcap
  gsoreplay coalesce -o super.pcapng capture.pcap
  gsoreplay segment -o again.pcap super.pcapng      # again.pcap == capture.pcap
  sudo gsoreplay verify capture.pcap                # exit 0: every frame exact
  sudo gsoreplay replay -i eth1 --topspeed capture.pcap
  gsoreplay report merge r0.json r1.json            # shards of one replay (--shard K/N), added up

Files may be pcap (µs or ns, either byte order), pcapng, or vnet records
(virtio_net_hdr + frame, from "coalesce --format vnet"), plain or compressed
with gzip or zstd (found by their magic); "-" is
standard input or output; "@sample" is a built-in capture of real kernel
traffic to try things on. Exit status: 0 success, 1 failure, 2 bad usage.`,
		Writer:               stdout,
		ErrWriter:            stderr,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Commands:             withUsageErrors(coalesceCommand(), segmentCommand(), inspectCommand(), replayCommand(), verifyCommand(), probeCommand(), reportCommand(), manCommand(), completionCommand()),
		OnUsageError:         onUsageError,
		ExitErrHandler:       func(*cli.Context, error) {}, // run decides the exit code
	}
}

func onUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err.Error()} }

// withUsageErrors makes flag errors of every command exit with status 2.
func withUsageErrors(cmds ...*cli.Command) []*cli.Command {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
	}
	return cmds
}

// oneInput returns the single positional argument.
func oneInput(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 1:
		return c.Args().First(), nil
	case 0:
		return "", usagef("%s: missing input capture (a path, or - for standard input)", c.Command.Name)
	}
	return "", usagef("%s: one input capture expected, got %d", c.Command.Name, c.NArg())
}

// sample is real kernel traffic (TCP and UDP over IPv4 and IPv6 between two
// namespaces, sender offloads off) recorded by
// testdata/record-kernel-traffic.sh; the input "@sample" reads it.
//
//go:embed sample.pcap
var sample []byte

const sampleName = "@sample"

// openCapture opens a capture through pcaps' opener, which gives a file
// the kernel's read advice; "@sample" is the built-in capture.
func openCapture(path string, o pcaps.OpenOptions) (*pcaps.Reader, error) {
	if path == sampleName {
		return pcaps.NewReader(bytes.NewReader(sample), sampleName)
	}
	return o.Open(path)
}

// input opens a capture, with a progress bar on a terminal for regular
// files above 32 MiB (verb names the work; "" is no bar). done finishes
// the bar and closes the file.
func input(c *cli.Context, path, verb string) (*pcaps.Reader, func(), error) {
	var bar *progressbar.ProgressBar
	var o pcaps.OpenOptions
	if verb != "" && isTerminal(c.App.ErrWriter) {
		o.Wrap = func(r io.Reader, size int64) io.Reader {
			if size <= 32<<20 {
				return r
			}
			bar = progressbar.NewOptions64(size,
				progressbar.OptionSetWriter(c.App.ErrWriter),
				progressbar.OptionSetDescription(verb),
				progressbar.OptionShowBytes(true),
				progressbar.OptionThrottle(100_000_000),
				progressbar.OptionClearOnFinish())
			pr := progressbar.NewReader(r, bar)
			return &pr
		}
	}
	r, err := openCapture(path, o)
	finish := func() {
		if bar != nil {
			bar.Finish()
		}
	}
	if err != nil {
		finish()
		return nil, nil, err
	}
	return r, func() { finish(); r.Close() }, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// output creates the output file ("-" is standard output), compressed as
// --compress or the file's suffix asks. commit renames nothing: it ends
// the compressed stream, and a failed run removes the partial file so that
// no half capture is mistaken for a result.
func output(c *cli.Context, path string) (io.Writer, func(ok bool) error, error) {
	if path == "" {
		return nil, nil, usagef("%s: missing -o OUT (a path, or - for standard output)", c.Command.Name)
	}
	comp := pcaps.CompressionOf(path)
	if c.IsSet("compress") {
		var err error
		if comp, err = pcaps.ParseCompression(c.String("compress")); err != nil {
			return nil, nil, usagef("--compress: %v", err)
		}
	}
	if path == "-" {
		zw, err := pcaps.Compress(c.App.Writer, comp)
		if err != nil {
			return nil, nil, err
		}
		return zw, func(bool) error { return zw.Close() }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	zw, err := pcaps.Compress(f, comp)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, nil, err
	}
	return zw, func(ok bool) error {
		err := errors.Join(zw.Close(), f.Close()) // the compressed stream's end first
		if !ok {
			os.Remove(path)
		}
		return err
	}, nil
}

// compressFlag is --compress, for the commands that write a capture.
var compressFlag = &cli.StringFlag{Name: "compress", Usage: "compress the output: `none`, gzip or zstd (default: by OUT's suffix, .gz or .zst; standard output: none)"}

// Command flowhunt hunts threats in AWS VPC Flow Logs. This package only
// parses flags and calls into internal/; each verb lives in its own file and
// registers itself in commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"syscall"
)

// command is one verb of the CLI.
type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string) error) {
	if _, dup := commands[name]; dup {
		panic("BUG: command registered twice: " + name)
	}
	commands[name] = command{summary: summary, run: run}
}

// Exit codes scripts can rely on.
const (
	exitOK       = 0
	exitError    = 1 // the command failed
	exitUsage    = 2 // bad flags or arguments
	exitFindings = 3 // hunt: findings at or above --fail-on were found
)

// errUsage marks errors caused by how the command was called.
var errUsage = errors.New("usage")

// exitError carries a specific exit code out of a command.
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

func usage() {
	fmt.Fprintf(os.Stderr, "flowhunt: threat hunting on AWS VPC Flow Logs\n\nusage: flowhunt <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'flowhunt <command> -h' for the flags of a command.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		os.Exit(exitUsage)
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "flowhunt: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(exitUsage)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile(os.Getenv("FLOWHUNT_CPUPROFILE"))
	err := cmd.run(ctx, os.Args[2:])
	stopProfile()
	stop()
	if err == nil {
		os.Exit(exitOK)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(exitOK)
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		if ec.err != nil && ec.code != exitFindings {
			fmt.Fprintf(os.Stderr, "flowhunt %s: %v\n", os.Args[1], ec.err)
		}
		os.Exit(ec.code)
	}
	fmt.Fprintf(os.Stderr, "flowhunt %s: %v\n", os.Args[1], err)
	if errors.Is(err, errUsage) {
		os.Exit(exitUsage)
	}
	os.Exit(exitError)
}

// startProfile writes a CPU profile of the command to path (when set) for
// `go tool pprof`; the returned function ends it. A profile that cannot be
// written is reported and the command runs without it.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "flowhunt: no CPU profile: %v\n", err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "flowhunt: CPU profile %s: %v\n", path, err)
		}
	}
}

// newFlags returns a flag set for a command that reports errors instead of
// exiting, so main decides the exit code.
func newFlags(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("flowhunt "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: flowhunt %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// Command with-emulators starts the Firebase Auth emulator once, runs a
// command with FIREBASE_AUTH_EMULATOR_HOST pointing at it, then stops the
// emulator and exits with the command's status. make test and make bench run
// `go test` under it so that every test package shares one Auth emulator
// (it takes several seconds to start); each package still starts its own
// Firestore emulator (about one second), whose trigger deliveries must
// reach that package's test binary.
//
//	go run ./cmd/with-emulators -- go test -race ./...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/readyplanner/oms/internal/emulator"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: with-emulators -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	start := time.Now()
	auth, err := emulator.StartAuth(context.Background(), emulator.AuthOptions{Project: "demo-oms"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "with-emulators:", err)
		return 1
	}
	defer auth.Stop()
	fmt.Fprintf(os.Stderr, "with-emulators: Auth emulator ready at %s in %s\n", auth.Host, time.Since(start).Round(time.Millisecond))

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "FIREBASE_AUTH_EMULATOR_HOST="+auth.Host)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "with-emulators:", err)
		return 1
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "with-emulators:", err)
		return 1
	}
	return 0
}

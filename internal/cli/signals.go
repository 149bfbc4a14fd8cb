package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals turns the first SIGTERM or SIGINT into ctx ending (a graceful
// stop) and the second into hurry closing (skip what is left of the
// shutdown delay). stop releases the signals.
func stopSignals() (ctx context.Context, hurry <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, os.Interrupt)
	h := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			close(h)
		case <-done:
		}
	}()
	return ctx, h, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

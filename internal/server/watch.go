package server

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// WatchDebounce is how long the configuration's folder must be quiet after
// a change before the reload: editors and the kubelet change a file in
// several steps (write a temporary file, rename, swap a symlink).
const WatchDebounce = 300 * time.Millisecond

// watchConfig reports changes to the configuration file at path until ctx
// ends. It watches the folder, not the file: a file replaced by a rename
// (editors) or reached through a symlink that is swapped (a Kubernetes
// ConfigMap volume, whose updates rename "..data") would otherwise stop
// being watched after the first change. Events are debounced; the channel
// holds at most one pending change.
func watchConfig(ctx context.Context, path string, log *slog.Logger) (<-chan struct{}, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	dir, name := filepath.Split(filepath.Clean(path))
	if dir == "" {
		dir = "."
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch %s: %w", dir, err)
	}
	out := make(chan struct{}, 1)
	go func() {
		defer w.Close()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				base := filepath.Base(ev.Name)
				if base == name || strings.HasPrefix(base, "..") {
					timer.Reset(WatchDebounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("watching the configuration", "error", err.Error())
			case <-timer.C:
				select {
				case out <- struct{}{}:
				default: // a reload is pending already
				}
			}
		}
	}()
	log.Info("watching the configuration for changes", "dir", dir)
	return out, nil
}

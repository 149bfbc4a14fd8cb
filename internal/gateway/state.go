package gateway

import (
	"context"
	"reflect"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/state"
)

// stateSettings turns the `state:` block into state.Settings; files are
// relative to the config file.
func stateSettings(f *config.File) state.Settings {
	r := f.Config.State.Redis
	if r == nil {
		return state.Settings{}
	}
	s := &state.RedisSettings{
		Addresses: r.Addresses, Cluster: r.Cluster,
		Username: r.Username, Password: r.Password, DB: r.DB,
		KeyPrefix: r.KeyPrefix, Timeout: r.Timeout.Std(), FailOpen: r.FailOpen,
	}
	if sn := r.Sentinel; sn != nil {
		s.SentinelMaster, s.SentinelAddresses = sn.Master, sn.Addresses
		s.SentinelUsername, s.SentinelPassword = sn.Username, sn.Password
	}
	if t := r.TLS; t != nil {
		s.TLS = &state.RedisTLS{CAFile: f.Resolve(t.CAFile), CertFile: f.Resolve(t.CertFile), KeyFile: f.Resolve(t.KeyFile), ServerName: t.ServerName}
	}
	return state.Settings{Redis: s}
}

// buildState opens the `state:` store, or keeps the previous gateway's when
// the settings did not change (its buckets and connections survive a
// reload). Close closes it when the next gateway does not keep it.
func (g *Gateway) buildState(f *config.File, d Deps) error {
	s := stateSettings(f)
	if errs := f.Place("state", s.Problems()); len(errs) > 0 {
		return &errs
	}
	if d.Previous != nil && d.Previous.state != nil && reflect.DeepEqual(d.Previous.state.Settings(), s) {
		g.state = d.Previous.state
		return nil
	}
	o := state.Options{Logger: d.Logger}
	if d.Metrics != nil {
		o.Metrics = d.Metrics.State
	}
	st, err := state.Open(s, o)
	if err != nil {
		return f.Errorf("state", "%v", err)
	}
	g.state = st
	return nil
}

// Degraded names what does not work while the gateway serves: "redis"
// with its last error while the state store falls back.
func (g *Gateway) Degraded(ctx context.Context) map[string]string {
	if g.state == nil {
		return nil
	}
	if st := g.state.Status(ctx); !st.Up {
		return map[string]string{st.Mode: st.Err}
	}
	return nil
}

// closeState closes g's store unless next keeps it.
func (g *Gateway) closeState(next *Gateway) {
	if g.state == nil || next != nil && next.state == g.state {
		return
	}
	if err := g.state.Close(); err != nil {
		g.log.Warn("closing state store", "error", err.Error())
	}
}

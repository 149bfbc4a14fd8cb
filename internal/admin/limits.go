package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/internal/apikey"
	"github.com/portcullis/portcullis/internal/revocation"
)

// MaxRevocationBody bounds a POST /revocations body.
const MaxRevocationBody = 16 << 10

// limitEndpoints adds the API key and revocation endpoints:
//
//	GET    /apikeys      every key (name, id, plan, enabled) with its plan's
//	                     throttle and its quota use in the current period
//	GET    /revocations  the list (token needed: it names users)
//	POST   /revocations  {"jti": "..."} or {"sub": "...", "before": RFC 3339}
//	DELETE /revocations  ?jti=... or ?sub=... (or the same JSON body)
//
// /revocations needs admin_token (Bearer) and is off (404) without it.
// GET /apikeys needs admin_token too when one is set: it names every key
// and its use; without admin_token it answers as /metrics does.
func (o Options) limitEndpoints(mux *http.ServeMux) {
	mux.HandleFunc("GET /apikeys", o.listKeys)
	mux.HandleFunc("GET /revocations", o.listRevocations)
	mux.HandleFunc("POST /revocations", o.revoke)
	mux.HandleFunc("DELETE /revocations", o.reinstate)
}

func (o Options) listKeys(w http.ResponseWriter, r *http.Request) {
	if o.Token != nil && o.Token() != "" && !o.authorized(w, r, "") {
		return
	}
	var st *apikey.Stage
	if o.APIKeys != nil {
		st = o.APIKeys()
	}
	if st == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "api_keys is not configured"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	writeJSON(w, http.StatusOK, map[string]any{"source": st.Source(), "keys": st.Usage(ctx)})
}

// revocations returns the list, or answers why there is none.
func (o Options) revocations(w http.ResponseWriter, r *http.Request) *revocation.List {
	if !o.authorized(w, r, "the revocation API") {
		return nil
	}
	var l *revocation.List
	if o.Revocations != nil {
		l = o.Revocations()
	}
	if l == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "revocation is off: set revocation.enabled"})
	}
	return l
}

func (o Options) listRevocations(w http.ResponseWriter, r *http.Request) {
	l := o.revocations(w, r)
	if l == nil {
		return
	}
	e := l.Entries()
	writeJSON(w, http.StatusOK, map[string]any{"count": len(e), "revocations": e})
}

// entryRequest is the body of POST and DELETE /revocations.
type entryRequest struct {
	JTI    string `json:"jti"`
	Sub    string `json:"sub"`
	Before string `json:"before"` // RFC 3339
}

func readEntry(w http.ResponseWriter, r *http.Request) (revocation.Entry, bool) {
	var req entryRequest
	if r.Method == http.MethodDelete && r.ContentLength <= 0 {
		q := r.URL.Query()
		req.JTI, req.Sub = q.Get("jti"), q.Get("sub")
	} else {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxRevocationBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "the body must be JSON: {\"jti\": \"...\"} or {\"sub\": \"...\", \"before\": \"RFC 3339\"}", "error": err.Error()})
			return revocation.Entry{}, false
		}
	}
	e := revocation.Entry{JTI: req.JTI, Sub: req.Sub}
	if req.Before != "" {
		t, err := time.Parse(time.RFC3339, req.Before)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "before must be an RFC 3339 time, such as 2026-12-06T12:00:00Z"})
			return revocation.Entry{}, false
		}
		e.Before = t.UTC()
	}
	return e, true
}

func (o Options) revoke(w http.ResponseWriter, r *http.Request) {
	l := o.revocations(w, r)
	if l == nil {
		return
	}
	e, ok := readEntry(w, r)
	if !ok {
		return
	}
	if err := e.Validate(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": err.Error()})
		return
	}
	if err := l.Revoke(r.Context(), e); err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"revoked": e})
}

func (o Options) reinstate(w http.ResponseWriter, r *http.Request) {
	l := o.revocations(w, r)
	if l == nil {
		return
	}
	e, ok := readEntry(w, r)
	if !ok {
		return
	}
	e.Before = time.Time{}
	if (e.JTI == "") == (e.Sub == "") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "give jti or sub"})
		return
	}
	if err := l.Reinstate(r.Context(), e); err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"reinstated": e})
}

// writeStoreError answers a change the shared store did not take: 503,
// nothing changed (the caller may try again).
func writeStoreError(w http.ResponseWriter, err error) {
	status := http.StatusServiceUnavailable
	var full *revocation.FullError
	if errors.As(err, &full) {
		status = http.StatusInsufficientStorage
	}
	writeJSON(w, status, map[string]any{"message": "not changed", "error": err.Error()})
}

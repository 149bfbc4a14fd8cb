package function

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// checkError asserts how an invocation failed: wantErr is a sentinel for
// errors.Is, wantFn a function error message, both empty means "a technical
// error that is neither".
func checkError(t *testing.T, err error, wantErr error, wantFn string) {
	t.Helper()
	var fe *Error
	switch {
	case err == nil:
		t.Fatal("no error")
	case wantFn != "":
		if !errors.As(err, &fe) || fe.Message != wantFn {
			t.Fatalf("got %v, want *Error %q", err, wantFn)
		}
	case wantErr != nil:
		if !errors.Is(err, wantErr) {
			t.Fatalf("got %v, want %v", err, wantErr)
		}
	default:
		if errors.As(err, &fe) || errors.Is(err, ErrTimeout) || errors.Is(err, ErrTooLarge) {
			t.Fatalf("got %v, want a plain technical error", err)
		}
	}
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	var okHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		okHits.Add(1)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request shape", http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Write([]byte(`{"got":` + string(body) + `}`))
	})
	mux.HandleFunc("/fnerror", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`))
	})
	mux.HandleFunc("/fnerror500", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"errorMessage":"Unauthorized","errorType":"errorString","stackTrace":[]}`))
	})
	mux.HandleFunc("/notanerror", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"errorMessage":"x","errorType":"y","statusCode":200}`))
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	})
	mux.HandleFunc("/500json", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"message":"oops"}`))
	})
	mux.HandleFunc("/junk", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>not json</html>"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`"` + strings.Repeat("x", 2000) + `"`))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // lets the server notice the client leaving
		select {
		case <-time.After(10 * time.Second): // an answer, had the timeout not acted
		case <-r.Context().Done():
		}
		w.Write([]byte(`{}`))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// The group returns only once its parallel subtests are done.
	t.Run("cases", func(t *testing.T) {
		for _, tc := range []struct {
			path    string
			want    string
			wantErr error
			wantFn  string
		}{
			{path: "/ok", want: `{"got":{"a": 1}}`},
			{path: "/notanerror", want: `{"errorMessage":"x","errorType":"y","statusCode":200}`},
			{path: "/fnerror", wantFn: "Unauthorized"},
			{path: "/fnerror500", wantFn: "Unauthorized"},
			{path: "/500"},
			{path: "/500json"},
			{path: "/junk", wantErr: ErrInvalidResponse},
			{path: "/big", wantErr: ErrTooLarge},
			{path: "/slow", wantErr: ErrTimeout},
			{path: "/redirect"},
		} {
			t.Run(tc.path, func(t *testing.T) {
				t.Parallel()
				// Only /slow is about the timeout; elsewhere it is far
				// away, so that a loaded machine cannot reach it.
				timeout := hangGuard
				if tc.wantErr == ErrTimeout {
					timeout = 300 * time.Millisecond
				}
				f, err := NewHTTP(HTTPSettings{Name: "h", URL: srv.URL + tc.path, Timeout: timeout, MaxResponseBytes: 1024})
				if err != nil {
					t.Fatal(err)
				}
				got, err := invoke(t, f, `{"a": 1}`)
				if tc.want != "" {
					if err != nil || string(got) != tc.want {
						t.Fatalf("got %q, %v; want %q", got, err, tc.want)
					}
					return
				}
				checkError(t, err, tc.wantErr, tc.wantFn)
			})
		}
	})
	if okHits.Load() != 1 {
		t.Errorf("/ok hit %d times, want 1 (the redirect must not be followed)", okHits.Load())
	}
}

func TestNewHTTPValidation(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://x/y", "/relative", "http://", "::bad"} {
		if _, err := NewHTTP(HTTPSettings{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	// A caller's client keeps its own redirect policy.
	c := &http.Client{}
	if _, err := NewHTTP(HTTPSettings{URL: "http://localhost/", Client: c}); err != nil {
		t.Fatal(err)
	}
	if c.CheckRedirect != nil {
		t.Error("NewHTTP modified the caller's client")
	}
}

func TestParseErrorPayload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want *Error
	}{
		{`{"errorMessage":"Unauthorized","errorType":"errorString"}`, &Error{Message: "Unauthorized", Type: "errorString"}},
		{` {"errorType":"T","errorMessage":"m","stackTrace":["a"]} `, &Error{Message: "m", Type: "T"}},
		{`{"errorMessage":"m"}`, nil},
		{`{"errorMessage":"m","errorType":"T","body":"x"}`, nil},
		{`{"errorMessage":1,"errorType":"T"}`, nil},
		{`["errorMessage","errorType"]`, nil},
		{`not json`, nil},
		{``, nil},
	} {
		got, ok := parseErrorPayload([]byte(tc.in))
		if ok != (tc.want != nil) || (ok && *got != *tc.want) {
			t.Errorf("parseErrorPayload(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	t.Parallel()
	if got := (&Error{Message: "Unauthorized", Type: "errorString"}).Error(); got != "function error: errorString: Unauthorized" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Message: "Unauthorized"}).Error(); got != "function error: Unauthorized" {
		t.Errorf("Error() = %q", got)
	}
}

package function

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/portcullis/portcullis/internal/testbin"
	"github.com/portcullis/portcullis/internal/testlog"
)

func newTestInvoke(t *testing.T, s InvokeSettings) *Invoke {
	t.Helper()
	f, err := newInvoke(context.Background(), s,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// fakeLambda implements the Lambda Invoke API for a few function names, each
// with one behaviour, and checks what the SDK sends.
func fakeLambda(t *testing.T) (*httptest.Server, map[string]*atomic.Int32) {
	hits := map[string]*atomic.Int32{}
	for _, n := range []string{"echo", "unhandled", "rieerror", "textunhandled", "junk", "big", "slow", "servicefail"} {
		hits[n] = &atomic.Int32{}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if h, ok := hits[name]; ok {
			h.Add(1)
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-west-1/lambda/aws4_request") {
			http.Error(w, `{"message":"bad signature"}`, http.StatusForbidden)
			return
		}
		if it := r.Header.Get("X-Amz-Invocation-Type"); it != "RequestResponse" {
			http.Error(w, `{"message":"invocation type `+it+`"}`, http.StatusBadRequest)
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch name {
		case "echo":
			w.Header().Set("X-Test-Qualifier", r.URL.Query().Get("Qualifier"))
			fmt.Fprintf(w, `{"event":%s,"qualifier":%q}`, body, r.URL.Query().Get("Qualifier"))
		case "unhandled":
			w.Header().Set("X-Amzn-RequestId", "7c1b2a3e-0000-4000-8000-000000000001")
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Write([]byte(`{"errorMessage":"Unauthorized","errorType":"errorString","stackTrace":[],"extra":1}`))
		case "rieerror": // the emulator drops X-Amz-Function-Error
			w.Header().Set("X-Amzn-RequestId", "7c1b2a3e-0000-4000-8000-000000000002")
			w.Write([]byte(`{"errorMessage":"Unauthorized","errorType":"errorString"}`))
		case "textunhandled":
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Write([]byte(`Task timed out`))
		case "junk":
			w.Write([]byte(`\xffjunk`))
		case "big":
			w.Write([]byte(`"` + strings.Repeat("x", 2000) + `"`))
		case "slow":
			select {
			case <-time.After(10 * time.Second): // an answer, had the timeout not acted
			case <-r.Context().Done():
			}
			w.Write([]byte(`{}`))
		case "servicefail":
			w.Header().Set("X-Amzn-ErrorType", "ServiceException")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"Type":"Service","message":"boom"}`))
		default:
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"Type":"User","message":"Function not found"}`))
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, hits
}

func TestInvokeSDK(t *testing.T) {
	t.Parallel()
	srv, hits := fakeLambda(t)
	t.Run("cases", func(t *testing.T) {
		for _, tc := range []struct {
			function  string
			qualifier string
			want      string
			wantErr   error
			wantFn    string
			wantType  string
			wantID    string // Lambda's request id, which labels its logs
		}{
			{function: "echo", want: `{"event":{"a": 1},"qualifier":""}`},
			{function: "echo", qualifier: "live", want: `{"event":{"a": 1},"qualifier":"live"}`},
			{function: "unhandled", wantFn: "Unauthorized", wantType: "errorString", wantID: "7c1b2a3e-0000-4000-8000-000000000001"},
			{function: "rieerror", wantFn: "Unauthorized", wantType: "errorString", wantID: "7c1b2a3e-0000-4000-8000-000000000002"},
			{function: "textunhandled", wantFn: "", wantType: "Unhandled"},
			{function: "junk", wantErr: ErrInvalidResponse},
			{function: "big", wantErr: ErrTooLarge},
			{function: "slow", wantErr: ErrTimeout},
			// Lambda refusing the invocation: the function did not run.
			{function: "servicefail", wantErr: ErrUnavailable},
			{function: "missing", wantErr: ErrUnavailable},
		} {
			t.Run(tc.function+tc.qualifier, func(t *testing.T) {
				t.Parallel()
				// Only slow is about the timeout; elsewhere it is far
				// away, so that a loaded machine cannot reach it.
				timeout := hangGuard
				if tc.wantErr == ErrTimeout {
					timeout = 300 * time.Millisecond
				}
				f := newTestInvoke(t, InvokeSettings{FunctionName: tc.function, Qualifier: tc.qualifier, Region: "eu-west-1",
					Endpoint: srv.URL, Timeout: timeout, MaxResponseBytes: 1024})
				got, err := invoke(t, f, `{"a": 1}`)
				switch {
				case tc.want != "":
					if err != nil || string(got) != tc.want {
						t.Fatalf("got %q, %v; want %q", got, err, tc.want)
					}
				case tc.wantType != "":
					var fe *Error
					if !asError(err, &fe) || fe.Message != tc.wantFn || fe.Type != tc.wantType || fe.RequestID != tc.wantID {
						t.Fatalf("got %#v, want *Error{%q, %q, %q}", err, tc.wantFn, tc.wantType, tc.wantID)
					}
				default:
					checkError(t, err, tc.wantErr, "")
				}
			})
		}
	})
	if n := hits["servicefail"].Load(); n != 1 {
		t.Errorf("a 5xx was sent %d times; only throttling may be retried", n)
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

func TestNewInvokeValidation(t *testing.T) {
	t.Parallel()
	if _, err := NewInvoke(context.Background(), InvokeSettings{Region: "us-east-1"}); err == nil {
		t.Error("missing FunctionName accepted")
	}
	if _, err := NewInvoke(context.Background(), InvokeSettings{FunctionName: "f", Timeout: -1}); err == nil {
		t.Error("negative Timeout accepted")
	}
}

// rieBinary finds the Lambda Runtime Interface Emulator or skips.
func rieBinary(t *testing.T) string {
	t.Helper()
	return testbin.Tool(t, "PORTCULLIS_RIE", "aws-lambda-rie",
		"go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@latest, outside this module")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startRIE runs the emulator with a testdata function and returns its base URL.
func startRIE(t *testing.T, rie, fn string) string {
	t.Helper()
	addr, apiAddr := freeAddr(t), freeAddr(t)
	var out testlog.Buffer
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bin(t, fn))
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		if t.Failed() {
			t.Logf("emulator output:\n%s", out.String())
		}
	})
	if !eventually(hangGuard, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("emulator did not listen on %s:\n%s", addr, out.String())
	}
	return "http://" + addr
}

func TestInvokeRuntimeInterfaceEmulator(t *testing.T) {
	t.Parallel()
	rie := rieBinary(t)
	for _, tc := range []struct {
		fn     string
		event  string
		want   string
		wantFn string
	}{
		{fn: "echo", event: `{"a": 1, "b": [true]}`, want: `{"a": 1, "b": [true]}`},
		{fn: "fail", event: `{"message":"Unauthorized"}`, wantFn: "Unauthorized"},
	} {
		t.Run(tc.fn, func(t *testing.T) {
			t.Parallel()
			url := startRIE(t, rie, tc.fn)
			f := newTestInvoke(t, InvokeSettings{FunctionName: "function", Region: "eu-west-1", Endpoint: url, Timeout: 10 * time.Second})
			got, err := invoke(t, f, tc.event)
			if tc.wantFn != "" {
				checkError(t, err, nil, tc.wantFn)
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

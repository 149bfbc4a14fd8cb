package decision

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/portcullis/portcullis/internal/answer"
	"github.com/portcullis/portcullis/internal/gateway"
	"github.com/portcullis/portcullis/internal/httpheader"
)

// maxDeniedBody bounds the denial body kept for Envoy; the gateway's own
// bodies are a few dozen bytes, a Lambda authorizer's are its to choose.
const maxDeniedBody = 64 << 10

// ExtAuthz is Envoy's external authorization service, v3 (the
// envoy.service.auth.v3.Authorization/Check RPC). Its contract: a
// CheckRequest is turned into the request it describes (method, path with
// its query string, host, headers, protocol, the client's address) and
// decided by gateway.Decide; the answer is OK with the identity headers to
// set and the client's copies to remove, or a denial with the gateway's
// status, headers and body. Anything that stops a decision is a denial,
// never OK.
type ExtAuthz struct {
	authv3.UnimplementedAuthorizationServer
	current Current
}

// NewExtAuthz returns the ext_authz service for the gateway current returns.
func NewExtAuthz(current Current) *ExtAuthz { return &ExtAuthz{current: current} }

// Register adds the service to s.
func (x *ExtAuthz) Register(s *grpc.Server) { authv3.RegisterAuthorizationServer(s, x) }

// Check implements authv3.AuthorizationServer. Errors are answered as
// denials, not as RPC errors: an RPC error lets Envoy's failure_mode_allow
// decide, which could let the request through.
func (x *ExtAuthz) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	r, clientIP, err := checkedRequest(ctx, req)
	if err != nil {
		return denied(codes.InvalidArgument, http.StatusInternalServerError, http.Header{"Content-Type": {"application/json"}}, answer.InternalError), nil
	}
	var rec recorder
	v := x.current().Decide(&rec, r, clientIP, gateway.ModeExtAuthz)
	if !v.Allowed {
		code := codes.PermissionDenied
		if rec.status == http.StatusUnauthorized {
			code = codes.Unauthenticated
		}
		status := rec.status
		if status < 400 || status > 599 {
			status = http.StatusForbidden // never an allow by accident
		}
		return denied(code, status, rec.header, rec.body.String()), nil
	}
	ok := &authv3.OkHttpResponse{HeadersToRemove: lower(v.Remove)}
	for name, vals := range v.Identity {
		for i, val := range vals {
			action := corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
			if i > 0 {
				action = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD
			}
			ok.Headers = append(ok.Headers, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(name), Value: val},
				AppendAction: action,
			})
		}
	}
	if id := rec.header.Get(gateway.RequestIDResponseHeader); id != "" {
		ok.ResponseHeadersToAdd = append(ok.ResponseHeadersToAdd, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: strings.ToLower(gateway.RequestIDResponseHeader), Value: id},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
	}, nil
}

// denied is a CheckResponse that denies with an HTTP answer for the client.
func denied(code codes.Code, status int, header http.Header, body string) *authv3.CheckResponse {
	d := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(status)}, Body: body}
	for name, vals := range header {
		if name == "Content-Length" || name == "Connection" {
			continue // Envoy frames the answer itself
		}
		for _, val := range vals {
			d.Headers = append(d.Headers, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(name), Value: val},
				AppendAction: corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD,
			})
		}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(code)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: d},
	}
}

// checkedRequest is the request a CheckRequest describes, as a gateway
// request would be: the path is the request target with its query string,
// undecoded; pseudo-headers (":path", ":authority", ...) are not headers.
func checkedRequest(ctx context.Context, req *authv3.CheckRequest) (*http.Request, string, error) {
	h := req.GetAttributes().GetRequest().GetHttp()
	if h == nil {
		return nil, "", errors.New("the check request has no HTTP attributes")
	}
	path := h.GetPath()
	if path == "" {
		return nil, "", errors.New("the check request has no path")
	}
	header := http.Header{}
	if hm := h.GetHeaderMap(); hm != nil {
		for _, hv := range hm.GetHeaders() {
			val := hv.GetValue()
			if raw := hv.GetRawValue(); raw != nil {
				val = string(raw)
			}
			if err := addHeader(header, hv.GetKey(), val); err != nil {
				return nil, "", err
			}
		}
	} else {
		for name, val := range h.GetHeaders() {
			if err := addHeader(header, name, val); err != nil {
				return nil, "", err
			}
		}
	}
	host := h.GetHost()
	if host == "" {
		host = header.Get("Host")
	}
	base := &http.Request{Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	r, err := original(base.WithContext(ctx), h.GetMethod(), path, host)
	if err != nil {
		return nil, "", err
	}
	r.Header = header
	delete(header, "Host")
	if cl := header.Get("Content-Length"); cl != "" {
		// The body stays with Envoy, but its declared size is checked
		// against max_body_bytes as the gateway checks it.
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			r.ContentLength = n
		}
	}
	if p := h.GetProtocol(); p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			r.Proto, r.ProtoMajor, r.ProtoMinor = p, major, minor
		}
	}
	clientIP := ""
	if sa := req.GetAttributes().GetSource().GetAddress().GetSocketAddress(); sa != nil {
		clientIP = sa.GetAddress()
		r.RemoteAddr = net.JoinHostPort(clientIP, strconv.Itoa(int(sa.GetPortValue())))
	}
	return r, clientIP, nil
}

// addHeader adds a header Envoy reported; pseudo-headers are skipped. A
// name or value net/http's server would refuse (with 400, so the gateway
// never decides such a request) is an error, not skipped: a header left
// out could be a client's copy of an identity header, which would then be
// missing from headers_to_remove and reach the backend. A name is a token
// of any length (not a method's 32 bytes at most).
func addHeader(h http.Header, name, val string) error {
	if name != "" && name[0] == ':' {
		return nil
	}
	if !httpheader.ValidName(name) || !httpheader.ValidValue(val) {
		return errors.New("the check request has a header name or value that is not HTTP")
	}
	h[canonical(name)] = append(h[canonical(name)], val)
	return nil
}

func lower(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// recorder keeps the answer the gateway writes for a denial.
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header {
	if r.header == nil {
		r.header = http.Header{}
	}
	return r.header
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(b) > maxDeniedBody {
		return 0, errors.New("denial body over 64 KiB")
	}
	return r.body.Write(b)
}

// MaxCheckRequestBytes bounds one CheckRequest: headers, and a body when
// Envoy is set to send it (the decision does not read it).
const MaxCheckRequestBytes = 4 << 20

package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTPSettings configures an HTTP function.
type HTTPSettings struct {
	Name             string        // for metrics and errors; default: URL host
	URL              string        // absolute http(s) URL the event is POSTed to
	Timeout          time.Duration // whole request including body; default DefaultRemoteTimeout
	MaxResponseBytes int64         // default DefaultMaxResponseBytes
	Client           *http.Client  // default: a client on a clone of http.DefaultTransport; redirects are never followed either way
	Metrics          *Metrics      // optional
}

// HTTP is a function behind a plain HTTP endpoint: the event is POSTed as
// application/json and a 2xx JSON body is the response. A JSON body that is
// exactly {errorMessage, errorType[, stackTrace]} is a *Error on any status,
// so an endpoint can report function errors the way Lambda does; anything
// else that is not a 2xx JSON body within the size limit is a technical
// error. Redirects are not followed (a redirected event would leak its
// tokens to another URL). Safe for concurrent use.
type HTTP struct {
	name    string
	url     string
	timeout time.Duration
	max     int64
	client  *http.Client
	metrics *Metrics
}

// NewHTTP validates s.
func NewHTTP(s HTTPSettings) (*HTTP, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, fmt.Errorf("http function: invalid URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http function: URL %q must be an absolute http or https URL", s.URL)
	}
	if s.Timeout < 0 || s.MaxResponseBytes < 0 {
		return nil, errors.New("http function: Timeout and MaxResponseBytes must not be negative")
	}
	var c http.Client
	if s.Client != nil {
		c = *s.Client // shallow copy so that the caller's client keeps its redirect policy
	} else {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &HTTP{
		name:    orDefault(s.Name, u.Host),
		url:     s.URL,
		timeout: orDefault(s.Timeout, DefaultRemoteTimeout),
		max:     orDefault(s.MaxResponseBytes, DefaultMaxResponseBytes),
		client:  &c,
		metrics: s.Metrics,
	}, nil
}

// Invoke implements Function.
func (h *HTTP) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	start := time.Now()
	b, err := h.invoke(ctx, event)
	h.metrics.observe(h.name, start, err)
	return b, err
}

func (h *HTTP) invoke(ctx context.Context, event []byte) ([]byte, error) {
	tctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(tctx, http.MethodPost, h.url, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", h.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, h.requestError(ctx, tctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, h.max+1))
	if err != nil {
		return nil, h.requestError(ctx, tctx, err)
	}
	if int64(len(body)) > h.max {
		return nil, fmt.Errorf("function %s: response over %d bytes: %w", h.name, h.max, ErrTooLarge)
	}
	if fe, ok := parseErrorPayload(body); ok {
		return nil, fe
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The body is not included: an error page may echo the request.
		return nil, fmt.Errorf("function %s: unexpected HTTP status %d", h.name, resp.StatusCode)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("function %s: %w", h.name, ErrInvalidResponse)
	}
	return body, nil
}

// requestError classifies a transport failure: our own timeout is
// ErrTimeout, the caller's context ending is reported as such, anything else
// is a plain technical error.
func (h *HTTP) requestError(ctx, tctx context.Context, err error) error {
	if ctx.Err() != nil {
		return contextError(h.name, ctx.Err())
	}
	if errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("function %s: no response within %s: %w", h.name, h.timeout, ErrTimeout)
	}
	return fmt.Errorf("function %s: %w", h.name, err)
}

// Package config reads a Portcullis YAML file into plain structs and remembers
// where every value came from, so that later setup steps can report a problem
// with its file, line and column.
//
// Loading checks syntax, unknown keys, types and `${VAR}` expansion only. What a
// value means (a route key, a URL, a mapping) is judged by the setup code that
// uses it, through File.Errorf, which attaches the position.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds the configuration file; a gateway config is small, and a
// huge one is a mistake or an attack on the loader.
const MaxFileSize = 4 << 20

// Config is the whole file. The YAML names are the public contract: add keys,
// never rename them.
type Config struct {
	Listen      string `yaml:"listen"`
	AdminListen string `yaml:"admin_listen"`
	// AdminToken, when set, allows POST /reload on the admin listener with
	// Authorization: Bearer ADMIN_TOKEN.
	AdminToken  string                `yaml:"admin_token"`
	API         API                   `yaml:"api"`
	Server      Server                `yaml:"server"`
	Authorizers map[string]Authorizer `yaml:"authorizers"`
	Routes      []Route               `yaml:"routes"`
	// Issuers are development issuers served by the same process, each on
	// its own listener (see `portcullis issuer`).
	Issuers map[string]Issuer `yaml:"issuers"`
	// Functions are Lambda functions, used by lambda authorizers and
	// lambda_proxy integrations.
	Functions map[string]Function `yaml:"functions"`
	// Tracing sends OpenTelemetry traces to an OTLP collector.
	Tracing Tracing `yaml:"tracing"`
	// DecisionAPI serves the gateway's decisions to other proxies
	// (forward-auth over HTTP, Envoy ext_authz over gRPC).
	DecisionAPI DecisionAPI `yaml:"decision_api"`
	// GatewayResponses customise the answers the gateway gives by itself
	// (REST API GatewayResponses), keyed by AWS response type
	// (UNAUTHORIZED, DEFAULT_4XX, ...); see internal/gwresponse.
	GatewayResponses map[string]GatewayResponse `yaml:"gateway_responses"`
	// CORS is AWS HTTP API's CorsConfiguration: with it the gateway answers
	// browsers' preflights and sets the CORS headers on every response to an
	// allowed Origin (see internal/cors). Unset: no CORS handling at all.
	CORS *CORS `yaml:"cors"`
	// State is where limits and counters live: in the process (omitted)
	// or in Redis, shared by every replica.
	State State `yaml:"state"`
	// Throttling is AWS HTTP API stage and route throttling, applied
	// before the authorizer.
	Throttling Throttling `yaml:"throttling"`
	// RateLimits are per-identity limits (ours), applied after the
	// authorizer.
	RateLimits []RateLimit `yaml:"rate_limits"`
	// AccessLog says how and where each request is logged.
	AccessLog AccessLog `yaml:"access_log"`
	// APIKeys turns on API keys for routes with api_key_required (REST
	// API's apiKeySource and the keys themselves).
	APIKeys *APIKeys `yaml:"api_keys"`
	// UsagePlans are AWS usage plans by name: each API key is in one.
	UsagePlans map[string]UsagePlan `yaml:"usage_plans"`
	// Revocation lets an operator revoke JWTs before they expire (admin API).
	Revocation Revocation `yaml:"revocation"`
	// TLS, when set, makes listen an HTTPS listener (HTTP/1.1 and HTTP/2),
	// with mutual TLS when client_auth is set (see internal/tlsconf).
	TLS *TLS `yaml:"tls"`
	// HTTPRedirectListen is an optional plain-HTTP listener that answers
	// every request with 308 to the same URL over https; it needs tls.
	HTTPRedirectListen string `yaml:"http_redirect_listen"`
}

// DecisionAPI configures the decision API: the same routes and authorizers
// as the gateway, asked by a proxy that keeps the traffic.
type DecisionAPI struct {
	Listen     string `yaml:"listen"`      // HTTP: forward-auth (nginx, Traefik, Caddy) and Envoy's http_service
	GRPCListen string `yaml:"grpc_listen"` // gRPC: envoy.service.auth.v3.Authorization/Check
}

// GatewayResponse is one `gateway_responses:` entry: what replaces the
// gateway's own answer of one response type. Unset fields keep the
// built-in answer's.
type GatewayResponse struct {
	// Status replaces the answer's status code (300-599); 0 keeps it.
	Status int `yaml:"status"`
	// Headers are added to the answer, replacing any of the same name:
	// 'static text' (AWS's quoted form), context.NAME or
	// method.request.path.NAME (AWS's expressions), or text with
	// $context.NAME variables.
	Headers map[string]string `yaml:"headers"`
	// Body is the template of the answer's body, with $context.NAME
	// variables (JSON-escaped when the answer's Content-Type is JSON);
	// nil keeps the built-in body.
	Body *string `yaml:"body"`
}

// CORS is an HTTP API CorsConfiguration, with AWS's lower-camel names (the
// apigatewayv2 API's and the x-amazon-apigateway-cors extension's).
type CORS struct {
	// AllowOrigins are the origins allowed to read responses: exact
	// origins (https://app.example.com), `*` (any), `https://*` or
	// `http://*` (any origin of that scheme) and `https://*.example.com`
	// (any subdomain).
	AllowOrigins []string `yaml:"allowOrigins"`
	// AllowMethods are the methods a preflight may ask for; `*` allows any.
	AllowMethods []string `yaml:"allowMethods"`
	// AllowHeaders are the request headers a preflight may ask for; `*`
	// allows any (the requested ones are echoed, so it covers Authorization).
	AllowHeaders []string `yaml:"allowHeaders"`
	// ExposeHeaders are the response headers a page may read beyond the
	// CORS-safelisted ones.
	ExposeHeaders []string `yaml:"exposeHeaders"`
	// MaxAge is how many seconds a browser may cache a preflight's answer
	// (Access-Control-Max-Age), -1 to 86400 as on AWS; unset: no header.
	MaxAge *int `yaml:"maxAge"`
	// AllowCredentials sends Access-Control-Allow-Credentials: true, so
	// pages may send cookies and read the answer; not with an origin of `*`.
	AllowCredentials bool `yaml:"allowCredentials"`
}

// APIKeys is the `api_keys:` block.
type APIKeys struct {
	// Source is HEADER (the x-api-key header, the default) or AUTHORIZER
	// (the usageIdentifierKey a Lambda authorizer returns).
	Source string `yaml:"source"`
	// KeysFile holds the keys: YAML `keys: [{name, hash, plan, enabled}]`,
	// only SHA-256 hashes of the values (see `portcullis apikey create`).
	KeysFile string `yaml:"keys_file"`
}

// UsagePlan is one entry of `usage_plans:`: AWS's throttle and quota per key.
type UsagePlan struct {
	Throttle *UsagePlanThrottle `yaml:"throttle"`
	Quota    *UsagePlanQuota    `yaml:"quota"`
}

// UsagePlanThrottle is a usage plan's token bucket per key: Rate requests
// per second, Burst the bucket's size.
type UsagePlanThrottle struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// UsagePlanQuota is a usage plan's quota per key: Limit requests per Period
// (DAY, WEEK or MONTH, in UTC).
type UsagePlanQuota struct {
	Limit  int64  `yaml:"limit"`
	Period string `yaml:"period"`
}

// Revocation is the `revocation:` block.
type Revocation struct {
	Enabled bool `yaml:"enabled"`
}

// Throttling is a stage's DefaultRouteSettings and RouteSettings throttling:
// every route gets its own bucket with Default, or with its entry in
// Routes (keyed by route key), whose unset fields come from Default.
type Throttling struct {
	Default *Throttle           `yaml:"default"`
	Routes  map[string]Throttle `yaml:"routes"`
}

// Throttle is a token bucket: rate requests a second (AWS's
// ThrottlingRateLimit), burst the bucket's size (ThrottlingBurstLimit).
type Throttle struct {
	Rate  *float64 `yaml:"rate"`
	Burst *int     `yaml:"burst"`
}

// RateLimit is one `rate_limits:` rule: a bucket per value of Key (a
// $context variable) on Routes (route keys; omitted: every route).
// Requests for which Key is empty are not limited by the rule.
type RateLimit struct {
	Name   string  `yaml:"name"`
	Routes Strings `yaml:"routes"`
	Key    string  `yaml:"key"`
	Rate   float64 `yaml:"rate"`
	Burst  int     `yaml:"burst"`
}

// State configures shared state (package state). Without `redis:` it is
// kept in the process, exact for one replica.
type State struct {
	Redis *Redis `yaml:"redis"`
}

// Redis is a Redis deployment: one server, a Cluster (several addresses, or
// cluster: true) or a Sentinel-managed primary.
type Redis struct {
	Addresses Strings        `yaml:"addresses"` // host:port; several = Redis Cluster
	Cluster   bool           `yaml:"cluster"`   // a Cluster reached through one seed address
	Sentinel  *RedisSentinel `yaml:"sentinel"`
	Username  string         `yaml:"username"`
	Password  string         `yaml:"password"`
	DB        int            `yaml:"db"`
	TLS       *RedisTLS      `yaml:"tls"`
	KeyPrefix *string        `yaml:"key_prefix"` // unset: "portcullis:"
	Timeout   Duration       `yaml:"timeout"`    // unset: 50ms; the longest any request waits for Redis
	FailOpen  *bool          `yaml:"fail_open"`  // unset: true; false refuses limited requests while Redis is down
}

// RedisSentinel names the primary that Sentinel servers watch.
type RedisSentinel struct {
	Master    string  `yaml:"master"`
	Addresses Strings `yaml:"addresses"`
	Username  string  `yaml:"username"`
	Password  string  `yaml:"password"`
}

// RedisTLS turns on TLS to Redis; an empty block uses the system roots.
type RedisTLS struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"` // a client certificate, with key_file
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

// AccessLog is the access log: one line per request, in Format (AWS's
// $context variables; empty: Portcullis's JSON line), to Output (stderr,
// stdout or a file path, relative to the configuration file; empty:
// stderr).
type AccessLog struct {
	Format string `yaml:"format"` // one line with $context.NAME variables, as AWS's accessLogSettings.format
	Output string `yaml:"output"` // stderr (default), stdout or a file path; reopened on SIGUSR2 and SIGHUP
}

// TLS is the `tls:` block: the listener's certificates, protocol policy and
// mutual TLS. internal/tlsconf checks it.
type TLS struct {
	// Certificates are chosen by SNI; the first is the default.
	Certificates []Certificate `yaml:"certificates"`
	MinVersion   string        `yaml:"min_version"`   // "1.2" (default) or "1.3"
	CipherSuites []string      `yaml:"cipher_suites"` // TLS 1.2 allow-list by IANA name; default ECDHE with AEAD
	ClientAuth   *ClientAuth   `yaml:"client_auth"`
}

// Certificate is one certificate chain (PEM, leaf first) and its key.
type Certificate struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// ClientAuth is mutual TLS, as API Gateway's truststore.
type ClientAuth struct {
	Truststore string `yaml:"truststore"` // PEM bundle of the CAs clients' certificates must chain to
	Mode       string `yaml:"mode"`       // require (default) or optional
}

// Tracing configures OpenTelemetry tracing; the standard OTEL_* environment
// variables fill in what it leaves out.
type Tracing struct {
	Enabled     bool     `yaml:"enabled"`
	Endpoint    string   `yaml:"endpoint"`     // OTLP base URL; default OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, else localhost
	Protocol    string   `yaml:"protocol"`     // http/protobuf or grpc; default OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL, else http/protobuf
	SampleRatio *float64 `yaml:"sample_ratio"` // 0 to 1, parent-based; default OTEL_TRACES_SAMPLER, else 1
	ServiceName string   `yaml:"service_name"` // default OTEL_SERVICE_NAME, else portcullis
}

// Function is one Lambda function and how to run it.
type Function struct {
	// Runtime is process, invoke or http, or an AWS runtime name:
	// pythonX.Y, nodejsNN.x, or provided.al2023 / provided.al2 / go1.x
	// (which are process).
	Runtime string `yaml:"runtime"`

	// runtime: process — Portcullis serves the Lambda Runtime API and runs the binary.
	Command Strings `yaml:"command"`
	Dir     string  `yaml:"dir"`

	// runtime: pythonX.Y, nodejsNN.x — Portcullis runs its own runtime
	// client, which loads Handler from Code, with Interpreter.
	// runtime: provided.*, go1.x — the executable in Code (Go source with
	// a go.mod there or above it is built with go build, as sam build does).
	Handler     string `yaml:"handler"`
	Code        string `yaml:"code"`
	Interpreter string `yaml:"interpreter"`

	// Every runtime that runs processes (process, pythonX.Y, nodejsNN.x).
	Env         map[string]string `yaml:"env"`
	Concurrency int               `yaml:"concurrency"`
	QueueSize   int               `yaml:"queue_size"`
	MemoryMB    int               `yaml:"memory_mb"`

	// runtime: invoke — the Lambda Invoke API (AWS, LocalStack, the emulator).
	Endpoint     string `yaml:"endpoint"`
	FunctionName string `yaml:"function_name"`
	Region       string `yaml:"region"`
	Qualifier    string `yaml:"qualifier"`

	// runtime: http — POST the event, read the response.
	URL string `yaml:"url"`

	Timeout Duration `yaml:"timeout"`
}

// Issuer is one development OIDC issuer: an `issuers:` entry, or the whole of
// a file given to `portcullis issuer -c`.
type Issuer struct {
	Listen      string   `yaml:"listen"`
	Issuer      string   `yaml:"issuer"` // default http://LISTEN
	KeysDir     string   `yaml:"keys_dir"`
	Algorithm   string   `yaml:"algorithm"`
	TokenTTL    Duration `yaml:"token_ttl"`
	Audience    Strings  `yaml:"audience"`
	Users       []User   `yaml:"users"`
	Clients     []Client `yaml:"clients"`
	UsersFile   string   `yaml:"users_file"`
	ClientsFile string   `yaml:"clients_file"`
}

// User is a development issuer's user (password grant).
type User struct {
	Username     string         `yaml:"username"`
	PasswordHash string         `yaml:"password_hash"`
	Password     string         `yaml:"password"` // refused with advice: store a bcrypt hash instead
	Subject      string         `yaml:"sub"`
	Scopes       Strings        `yaml:"scopes"`
	Claims       map[string]any `yaml:"claims"`
}

// Client is a development issuer's OAuth 2 client.
type Client struct {
	ClientID   string         `yaml:"client_id"`
	SecretHash string         `yaml:"client_secret_hash"`
	Public     bool           `yaml:"public"`
	Scopes     Strings        `yaml:"scopes"`
	GrantTypes Strings        `yaml:"grant_types"`
	Claims     map[string]any `yaml:"claims"`
}

// API names the API the way AWS does; the values appear in ARNs, in
// $context variables and in logs.
type API struct {
	ID        string `yaml:"id"`
	Stage     string `yaml:"stage"`
	Region    string `yaml:"region"`
	AccountID string `yaml:"account_id"`
}

// Server holds listener limits. Zero values mean the documented defaults.
type Server struct {
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	MaxHeaderBytes    int      `yaml:"max_header_bytes"`
	MaxBodyBytes      int64    `yaml:"max_body_bytes"`
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`
	// ShutdownDelay is how long, after SIGTERM, /readyz answers 503 while
	// the listener still serves, before the drain starts. Unset: 5s; 0: none.
	ShutdownDelay *Duration `yaml:"shutdown_delay"`
}

// Authorizer is one entry of `authorizers:`. Which fields apply depends on Type.
type Authorizer struct {
	Type           string  `yaml:"type"`
	IdentitySource Strings `yaml:"identity_source"`

	// type: jwt
	Issuer          string   `yaml:"issuer"`
	Audience        Strings  `yaml:"audience"`
	JWKSURI         string   `yaml:"jwks_uri"`
	JWKSFile        string   `yaml:"jwks_file"`
	Algorithms      Strings  `yaml:"algorithms"`
	ClockSkew       Duration `yaml:"clock_skew"`
	HMACSecret      string   `yaml:"hmac_secret"`
	RefreshInterval Duration `yaml:"refresh_interval"`
	JWKSMaxStale    Duration `yaml:"jwks_max_stale"`
	CacheSize       int      `yaml:"cache_size"`
	// Issuers is the REST API JWT authorizer shape: several issuers, each
	// with its own audiences and claim rules, instead of issuer + audience.
	Issuers []JWTIssuer `yaml:"issuers"`
	// RequireCertificateBinding denies tokens that are not bound to the
	// client's TLS certificate (RFC 8705 cnf.x5t#S256); needs mutual TLS.
	RequireCertificateBinding bool `yaml:"require_certificate_binding"`

	// type: lambda
	Function                     string    `yaml:"function"`
	PayloadFormatVersion         string    `yaml:"payload_format_version"`
	EventType                    string    `yaml:"event_type"`
	IdentityValidationExpression string    `yaml:"identity_validation_expression"`
	ResultTTL                    *Duration `yaml:"result_ttl"` // unset: 300s; 0 disables
	EnableSimpleResponses        bool      `yaml:"enable_simple_responses"`
	Timeout                      Duration  `yaml:"timeout"`
}

// JWTIssuer is one issuer of a REST-shape jwt authorizer (AWS's JwtIssuer).
type JWTIssuer struct {
	Issuer           string      `yaml:"issuer"`   // compared exactly with iss; chooses this entry before any key is fetched
	Audience         Strings     `yaml:"audience"` // the token's aud must hold one (AWS: audiences)
	JWKSURI          string      `yaml:"jwks_uri"` // optional: default is OIDC discovery from issuer
	JWKSFile         string      `yaml:"jwks_file"`
	AdditionalClaims []ClaimRule `yaml:"additional_claims"`
}

// ClaimRule is one of an issuer's additional_claims (AWS's
// JwtAdditionalClaim, format SINGLE_STRING).
type ClaimRule struct {
	Name     string  `yaml:"name"`     // the claim (AWS: claimName)
	Values   Strings `yaml:"values"`   // any one of them, exactly; empty: any string (AWS: expectedValues)
	Required bool    `yaml:"required"` // the token must carry the claim
}

// Route is one entry of `routes:`.
type Route struct {
	Route               string  `yaml:"route"`
	Authorizer          string  `yaml:"authorizer"`
	AuthorizationScopes Strings `yaml:"authorization_scopes"`
	// APIKeyRequired asks for an API key (AWS's apiKeyRequired); needs api_keys.
	APIKeyRequired bool        `yaml:"api_key_required"`
	Integration    Integration `yaml:"integration"`
}

// Integration says where an allowed request goes. Which fields apply depends on Type.
type Integration struct {
	Type string `yaml:"type"`

	// type: http_proxy (timeout also for lambda_proxy)
	URI               string            `yaml:"uri"`
	Timeout           Duration          `yaml:"timeout"`
	RequestParameters map[string]string `yaml:"request_parameters"`

	// type: lambda_proxy
	Function             string `yaml:"function"`
	PayloadFormatVersion string `yaml:"payload_format_version"`

	// type: http_proxy and lambda_proxy: client headers the gateway removes
	// by default that this route lets through.
	PassClientHeaders []string `yaml:"pass_client_headers"`

	// type: mock
	Status  int               `yaml:"status"`
	Body    string            `yaml:"body"`
	Headers map[string]string `yaml:"headers"`
}

// Duration is a time.Duration written with a unit ("1500ms", "29s"). A bare
// number is refused: yaml would read 30 as 30 nanoseconds.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("a duration must be a string such as \"30s\"")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it with a unit, such as \"30s\" or \"1500ms\"", n.Value)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", n.Value)
	}
	*d = Duration(v)
	return nil
}

// Std returns the value as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// Strings accepts either one string or a list of strings, because AWS writes
// some of these fields both ways (identity_source, audience).
type Strings []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Strings) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = Strings{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make(Strings, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: expected a string", c.Line)
			}
			out = append(out, c.Value)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("expected a string or a list of strings")
}

// File is a loaded configuration together with where each value was written.
type File struct {
	Path   string
	Config Config
	pos    map[string]Position
}

// Position is a place in the file; Line and Column count from 1.
type Position struct {
	Line, Column int
}

// Load reads, expands and decodes the file at path. Every problem found is
// returned, each with its position, as an *Errors.
func Load(path string) (*File, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, os.LookupEnv)
}

func readFile(path string) ([]byte, error) {
	data, err := ReadLimited(path, MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return data, nil
}

// ReadLimited reads the file at path, refusing one larger than limit bytes
// without reading more than one byte past it.
func ReadLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return data, nil
}

// Parse decodes data as the file named path; lookup resolves `${VAR}`.
func Parse(path string, data []byte, lookup func(string) (string, bool)) (*File, error) {
	file := &File{Path: path}
	pos, err := decode(path, data, lookup, &file.Config)
	if err != nil {
		return nil, err
	}
	file.pos = pos
	return file, nil
}

// IssuerFile is a standalone development issuer's configuration.
type IssuerFile struct {
	File
	Issuer Issuer
}

// LoadIssuer reads a file for `portcullis issuer`: the fields of one
// `issuers:` entry at the top level.
func LoadIssuer(path string) (*IssuerFile, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	f := &IssuerFile{File: File{Path: path}}
	pos, err := decode(path, data, os.LookupEnv, &f.Issuer)
	if err != nil {
		return nil, err
	}
	f.pos = pos
	return f, nil
}

// decode parses data into out (a pointer to a struct) and returns where
// each value was written.
func decode(path string, data []byte, lookup func(string) (string, bool), out any) (map[string]Position, error) {
	pos := map[string]Position{}
	var errs Errors

	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Errors{{File: path, Msg: "the file is empty"}}
		}
		return nil, &Errors{locateSyntax(path, data, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Errors{{File: path, Line: extra.Line, Msg: "only one YAML document is allowed"}}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		return nil, &Errors{{File: path, Line: doc.Line, Column: doc.Column, Msg: "the top level must be a mapping of keys"}}
	}

	checkRepeatedKeys(doc, "", func(n *yaml.Node, p, msg string) {
		errs = append(errs, Error{File: path, Line: n.Line, Column: n.Column, Path: p, Msg: msg})
	})
	expandEnv(doc, lookup, func(n *yaml.Node, msg string) {
		errs = append(errs, Error{File: path, Line: n.Line, Column: n.Column, Msg: msg})
	})
	walk(doc, reflect.TypeOf(out).Elem(), "", pos, func(n *yaml.Node, p, msg string) {
		errs = append(errs, Error{File: path, Line: n.Line, Column: n.Column, Path: p, Msg: msg})
	})
	if len(errs) > 0 {
		errs.Sort()
		return nil, &errs
	}
	if err := doc.Decode(out); err != nil {
		return nil, decodeErrors(path, err)
	}
	return pos, nil
}

// Pos returns where the value at path (such as "routes[1].integration.uri")
// was written, or the nearest enclosing value that was.
func (f *File) Pos(path string) Position {
	for {
		if p, ok := f.pos[path]; ok {
			return p
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			return f.pos[""]
		}
		path = path[:i]
	}
}

// Resolve returns a file path written in the configuration as a path to
// open: a relative one is relative to the configuration file's folder, not
// to the working directory. "" and absolute paths are returned as they are.
func (f *File) Resolve(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(f.Path), path)
}

// Errorf returns an *Error located at the value at path.
func (f *File) Errorf(path, format string, args ...any) *Error {
	p := f.Pos(path)
	return &Error{File: f.Path, Line: p.Line, Column: p.Column, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Lines files each line of err (several sentences joined by errors.Join)
// as its own Error at path.
func (f *File) Lines(path string, err error) Errors {
	if err == nil {
		return nil
	}
	var out Errors
	for _, line := range strings.Split(err.Error(), "\n") {
		out = append(out, *f.Errorf(path, "%s", line))
	}
	return out
}

// Error is one problem in the file.
type Error struct {
	File         string
	Line, Column int
	Path         string // the key path, such as routes[0].route; may be empty
	Msg          string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found, in file order; its message has one line each.
type Errors []Error

func (es *Errors) Error() string {
	lines := make([]string, len(*es))
	for i := range *es {
		lines[i] = (*es)[i].Error()
	}
	return strings.Join(lines, "\n")
}

// Add appends err, flattening *Errors and keeping *Error positions.
func (es *Errors) Add(err error) {
	if err == nil {
		return
	}
	var many *Errors
	if errors.As(err, &many) {
		*es = append(*es, *many...)
		return
	}
	var one *Error
	if errors.As(err, &one) {
		*es = append(*es, *one)
		return
	}
	*es = append(*es, Error{Msg: err.Error()})
}

// Sort puts es in file order, by line then column; problems at one place
// keep their order.
func (es Errors) Sort() {
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// Err returns es as an error, or nil when empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return &es
}

// CheckSyntax reports where data, the YAML (or JSON) file at path, breaks
// YAML's syntax, as check reports it for a configuration (an *Errors with
// the place and what to do); nil when it parses. For files read as YAML
// that are not configurations, such as the templates `import` reads.
func CheckSyntax(path string, data []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return &Errors{locateSyntax(path, data, err)}
	}
	return nil
}

// locateSyntax is the error for a file yaml could not parse: at the place
// locateSyntaxError finds, when it finds one that fits what yaml says
// (the line yaml names is where the enclosing block began, so the real
// problem is there or after it, unless something opened earlier is never
// closed), else at yaml's line, in words.
func locateSyntax(path string, data []byte, err error) Error {
	e := syntaxError(path, err)
	if p, ok := locateSyntaxError(data); ok && (p.unclosed || p.line >= e.Line) {
		return Error{File: path, Line: p.line, Column: p.col, Path: p.path, Msg: p.msg}
	}
	e.Msg = explainYAML(strings.TrimPrefix(e.Msg, "YAML syntax: "))
	return e
}

func syntaxError(path string, err error) Error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return Error{File: path, Line: line, Msg: "YAML syntax: " + msg}
}

func decodeErrors(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return &Errors{syntaxError(path, err)}
	}
	var es Errors
	for _, m := range te.Errors {
		es = append(es, syntaxError(path, errors.New(m)))
		es[len(es)-1].Msg = strings.TrimPrefix(es[len(es)-1].Msg, "YAML syntax: ")
	}
	return &es
}

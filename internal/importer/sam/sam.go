// Package sam reads an AWS SAM (or plain CloudFormation) template into a
// Portcullis configuration: its serverless functions become local functions
// on the runtime they name, its APIs (explicit, the implicit ones SAM
// creates for events without an ApiId, and APIs written as plain
// AWS::ApiGateway / AWS::ApiGatewayV2 resources) become routes with their
// authorizers, and what depends on real AWS resources becomes an
// environment placeholder with a note. Intrinsic functions are resolved in
// both the short (!Ref) and long ({"Ref": ...}) forms.
package sam

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
	"github.com/portcullis/portcullis/internal/importer/openapi"
)

// MaxSize bounds a template (CloudFormation's own limit is 1 MB).
const MaxSize = 4 << 20

// Options tunes an import.
type Options struct {
	// Source names the template in notes.
	Source string
	// Dir is the template's folder: CodeUri and DefinitionUri are relative
	// to it, and so are the code paths written (Rebase them for the output).
	Dir string
	// Parameters override the template's parameter defaults.
	Parameters map[string]string
	// Region, AccountID stand in for AWS::Region and AWS::AccountId
	// (default us-east-1, 000000000000).
	Region, AccountID string
}

// Detect reports whether data is a CloudFormation template (it has
// Resources, AWSTemplateFormatVersion or Transform at the top).
func Detect(data []byte) bool {
	var head map[string]any
	if yaml.Unmarshal(data, &head) != nil {
		var n yaml.Node // short-form tags make a plain decode fail
		if yaml.Unmarshal(data, &n) != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			return false
		}
		head = map[string]any{}
		for i := 0; i+1 < len(n.Content[0].Content); i += 2 {
			head[n.Content[0].Content[i].Value] = true
		}
	}
	for _, k := range []string{"Resources", "AWSTemplateFormatVersion", "Transform"} {
		if _, ok := head[k]; ok {
			return true
		}
	}
	return false
}

// translator carries one import.
type translator struct {
	o        Options
	res      *importer.Result
	e        *evaluator
	tmpl     map[string]any
	globals  map[string]any
	apiID    string
	apis     map[string]*api
	fnNames  map[string]string // logical id → AWS function name
	localFns map[string]string // AWS function name → configuration function
	keys     map[string]bool
	skipped  map[string]bool // functions not carried over
}

// Import reads the template in data.
func Import(data []byte, o Options) (*importer.Result, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("sam: the template is larger than %d bytes", MaxSize)
	}
	tmpl, top, err := parse(data)
	if err != nil {
		return nil, err
	}
	if _, ok := tmpl["Resources"].(map[string]any); !ok {
		return nil, errors.New("sam: the template has no Resources")
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AccountID == "" {
		o.AccountID = "000000000000"
	}
	t := &translator{
		o: o, res: &importer.Result{}, tmpl: tmpl, globals: asMap(tmpl["Globals"]),
		apis: map[string]*api{}, fnNames: map[string]string{}, localFns: map[string]string{},
		keys: map[string]bool{}, skipped: map[string]bool{}, apiID: "local",
	}
	t.res.Config.Functions = map[string]config.Function{}
	t.res.Config.Authorizers = map[string]config.Authorizer{}
	t.e = &evaluator{
		t: t, params: map[string]any{}, resources: map[string]map[string]any{},
		mappings: asMap(tmpl["Mappings"]), condDefs: asMap(tmpl["Conditions"]),
		conds: map[string]bool{}, evaluating: map[string]bool{}, noted: map[string]bool{},
		pseudo: map[string]string{
			"AWS::Region": o.Region, "AWS::AccountId": o.AccountID, "AWS::Partition": "aws",
			"AWS::StackName": "local", "AWS::URLSuffix": "amazonaws.com",
		},
	}
	for name, r := range asMap(tmpl["Resources"]) {
		t.e.resources[name] = asMap(r)
	}
	if err := t.parameters(); err != nil {
		return nil, err
	}
	t.run()
	importer.RequireAPIKeys(t.res, "")
	importer.NoteAPIKeys(t.res, o.Source)
	file := o.Source + ":"
	if o.Source == "" {
		file = "line "
	}
	for i, n := range t.res.Notes {
		if line := t.line(top, n.Source); line > 0 && n.Position == "" {
			t.res.Notes[i].Position = file + strconv.Itoa(line)
		}
	}
	c := &t.res.Config
	// Notes name routes by index: sort only when none does.
	sorted := true
	for _, n := range t.res.Notes {
		if strings.HasPrefix(n.Path, "routes[") {
			sorted = false
		}
	}
	if sorted {
		sort.SliceStable(c.Routes, func(i, j int) bool { return c.Routes[i].Route < c.Routes[j].Route })
	}
	if len(c.Functions) == 0 {
		c.Functions = nil
	}
	if len(c.Authorizers) == 0 {
		c.Authorizers = nil
	}
	return t.res, nil
}

func (t *translator) parameters() error {
	for name := range t.o.Parameters {
		if _, ok := asMap(t.tmpl["Parameters"])[name]; !ok {
			return fmt.Errorf("sam: --parameter %s: the template has no such parameter", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(asMap(t.tmpl["Parameters"]))) {
		p := asMap(asMap(t.tmpl["Parameters"])[name])
		typ := text(p["Type"])
		v, set := t.o.Parameters[name]
		var val any
		switch {
		case set:
			val = importer.EscapeEnv(v)
		case strings.HasPrefix(typ, "AWS::SSM::Parameter::Value"):
			t.e.at = ""
			val = t.e.placeholder(name, "Parameters."+name, "parameter "+name+" is read from SSM")
		case p["Default"] != nil:
			val = t.e.eval(p["Default"], "Parameters."+name)
		default:
			t.e.at = ""
			val = t.e.placeholder(name, "Parameters."+name, "parameter "+name+" has no default (or give --parameter "+name+"=VALUE)")
		}
		if strings.HasPrefix(typ, "CommaDelimitedList") || strings.HasPrefix(typ, "List<") {
			var list []any
			for _, s := range strings.Split(text(val), ",") {
				list = append(list, strings.TrimSpace(s))
			}
			val = list
		}
		t.e.params[name] = val
	}
	return nil
}

// enabled reports whether a resource exists under the template's
// conditions.
func (t *translator) enabled(r map[string]any, name string) bool {
	cond, ok := r["Condition"].(string)
	return !ok || t.e.condition(cond, "Resources."+name)
}

func (t *translator) run() {
	resources := asMap(t.tmpl["Resources"])
	names := slices.Sorted(maps.Keys(resources))
	// Function names first: intrinsics anywhere may refer to them.
	for _, name := range names {
		r := asMap(resources[name])
		switch text(r["Type"]) {
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			t.fnNames[name] = name
			t.e.at = ""
			if fn := text(t.e.eval(asMap(r["Properties"])["FunctionName"], "Resources."+name+".Properties.FunctionName")); fn != "" && !strings.Contains(fn, "${") {
				t.fnNames[name] = fn
			}
			t.localFns[t.fnNames[name]] = name
		}
	}
	for _, name := range names {
		r := asMap(resources[name])
		switch text(r["Type"]) {
		case "AWS::Serverless::HttpApi", "AWS::Serverless::Api":
			if t.enabled(r, name) {
				t.apiFor(name, text(r["Type"]) == "AWS::Serverless::HttpApi", asMap(r["Properties"]))
			}
		}
	}
	t.cfnAPIs(names)
	var events []event
	for _, name := range names {
		r := asMap(resources[name])
		typ := text(r["Type"])
		switch typ {
		case "AWS::Serverless::Function":
			if t.enabled(r, name) {
				events = append(events, t.function(name, asMap(r["Properties"]), asMap(r["Metadata"]))...)
			}
		case "AWS::Lambda::Function":
			if t.enabled(r, name) {
				t.lambdaFunction(name, asMap(r["Properties"]))
			}
		case "AWS::Serverless::HttpApi", "AWS::Serverless::Api", "AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api":
			// Carried over above, with the resources apiPart names.
		case "AWS::ApiGateway::UsagePlan":
			if t.enabled(r, name) {
				src := "Resources." + name + ".Properties"
				t.e.at = "usage_plans"
				props := asMap(t.e.eval(r["Properties"], src))
				plan := name
				if n := text(props["UsagePlanName"]); n != "" {
					plan = n
				}
				importer.UsagePlan(t.res, src, importer.EnvName(plan), props)
			}
		case "AWS::Lambda::Permission", "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::Logs::LogGroup":
			// Access control between AWS services and logging: nothing to run locally.
		default:
			if t.enabled(r, name) && !apiPart(typ) {
				t.res.Skip("", "Resources."+name, "%s is not created: Portcullis runs the API and its functions; what refers to it gets a placeholder", typ)
			}
		}
	}
	for _, ev := range events {
		t.eventRoute(ev)
	}
	t.finishAPIs()
}

// awsFunctionName is what Ref gives for a function: its FunctionName, or
// the logical id.
func (t *translator) awsFunctionName(logical string) string {
	if n, ok := t.fnNames[logical]; ok {
		return n
	}
	return logical
}

// merged returns the Globals section's values for kind under props (the
// resource's own values win; Environment.Variables and the like merge).
func (t *translator) merged(kind string, props map[string]any) map[string]any {
	return deepMerge(asMap(t.globals[kind]), props)
}

func deepMerge(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, om := asMap(out[k]), asMap(v); bm != nil && om != nil && !isIntrinsic(om) && !isIntrinsic(bm) {
			out[k] = deepMerge(bm, om)
			continue
		}
		out[k] = v
	}
	return out
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// function carries an AWS::Serverless::Function over and returns its API
// events. meta is the resource's Metadata (SAM's build settings).
func (t *translator) function(name string, props, meta map[string]any) []event {
	props = t.merged("Function", props)
	src := "Resources." + name + ".Properties"
	at := "functions." + name
	t.e.at = at
	get := func(key string) any { return t.e.eval(props[key], src+"."+key) }
	runtime, handler := text(get("Runtime")), text(get("Handler"))
	f := config.Function{Runtime: runtime, Handler: handler}
	local := ""
	switch code := get("CodeUri").(type) {
	case string:
		switch ext := strings.ToLower(filepath.Ext(code)); {
		case strings.HasPrefix(code, "s3://"):
			local = "its code is in S3 (" + code + ")"
		case ext == ".zip" || ext == ".jar":
			local = "its code is the archive " + code + " (unpack it into a folder and set code: and the runtime to run it here)"
		default:
			f.Code = importer.RebasePath(code, ".", ".")
		}
	case nil:
		if props["InlineCode"] != nil {
			local = "its code is inline in the template"
		} else if text(get("PackageType")) != "Image" {
			f.Code = "."
		}
	default:
		local = "its code is in S3"
	}
	if text(get("PackageType")) == "Image" {
		local = "it is a container image"
	}
	if local == "" {
		local = t.builtCode(name, &f, meta)
	}
	switch {
	case local != "":
	case strings.HasPrefix(runtime, "python"), strings.HasPrefix(runtime, "nodejs"):
	case runtime == "provided.al2023", runtime == "provided.al2", runtime == "go1.x":
		if f.Handler == "" {
			f.Handler = "bootstrap"
		}
	default:
		local = "runtime " + runtime + " is not run locally"
	}
	if local != "" {
		f = config.Function{Runtime: "invoke", FunctionName: t.awsFunctionName(name), Region: t.o.Region}
		t.res.Skip(at, src, "%s: the function is invoked on AWS through the Lambda Invoke API instead (set endpoint: for LocalStack or the emulator)", local)
	}
	if f.Runtime != "invoke" {
		if why := notInstalled(f.Runtime, filepath.Join(t.o.Dir, f.Code)); why != "" {
			codeSrc := src
			if props["CodeUri"] != nil {
				codeSrc += ".CodeUri"
			}
			t.res.Skip(at+".code", codeSrc, "%s", why)
		}
		if n, ok := importer.Number(get("Timeout")); ok {
			f.Timeout = config.Duration(time.Duration(n * float64(time.Second)))
		}
		if n, ok := importer.Number(get("MemorySize")); ok {
			f.MemoryMB = int(n)
		}
		vars := asMap(asMap(props["Environment"])["Variables"])
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			if f.Env == nil {
				f.Env = map[string]string{}
			}
			t.e.at = config.JoinPath(at+".env", k)
			v := t.e.eval(vars[k], src+".Environment.Variables."+k)
			if _, removed := v.(noValue); !removed {
				f.Env[k] = text(v)
			}
		}
		t.e.at = at
	}
	var ignored []string
	for _, k := range slices.Sorted(maps.Keys(props)) {
		switch k {
		case "Runtime", "Handler", "CodeUri", "InlineCode", "PackageType", "Timeout", "MemorySize", "Environment", "Events", "FunctionName", "Description", "Tags":
		case "Layers":
			if f.Runtime != "invoke" {
				t.res.Skip(at, src+".Layers", "its layers are not added: what they provide (libraries, a runtime's extensions) must be installed where the function finds it (Python: the interpreter's site-packages or code; Node.js: node_modules in code)")
			}
		default:
			ignored = append(ignored, k)
		}
	}
	if len(ignored) > 0 {
		t.res.Skip(at, src, "%s: AWS deployment settings with no local meaning", strings.Join(ignored, ", "))
	}
	t.res.Config.Functions[name] = f

	var events []event
	evs := asMap(props["Events"])
	for _, en := range slices.Sorted(maps.Keys(evs)) {
		ev := asMap(evs[en])
		esrc := src + ".Events." + en
		typ := text(ev["Type"])
		switch typ {
		case "HttpApi", "Api":
			events = append(events, event{fn: name, name: en, http: typ == "HttpApi", props: asMap(ev["Properties"]), src: esrc})
		default:
			t.res.Skip("routes", esrc, "a %s event: Portcullis serves HTTP APIs only", typ)
		}
	}
	return events
}

// builtCode handles functions whose code `sam build` produces with a
// build method of its own (Metadata.BuildMethod esbuild, for TypeScript,
// or makefile): Portcullis runs code as it is, so f's code becomes sam
// build's output folder for the function when it exists (with a note),
// and otherwise the function cannot run here and builtCode says why.
func (t *translator) builtCode(name string, f *config.Function, meta map[string]any) (why string) {
	method := strings.ToLower(text(t.e.eval(meta["BuildMethod"], "Resources."+name+".Metadata.BuildMethod")))
	switch {
	case method == "esbuild":
	case method == "makefile" && !strings.HasPrefix(f.Runtime, "provided") && f.Runtime != "go1.x":
		// Go's makefile builds are left to Portcullis's own go build.
	default:
		return ""
	}
	built := filepath.Join(".aws-sam", "build", name)
	if info, err := os.Stat(filepath.Join(t.o.Dir, built)); err != nil || !info.IsDir() {
		return "its code is built by `sam build` (BuildMethod " + method + ") and " + filepath.ToSlash(built) + " does not exist yet: run `sam build` and import again to run the built code here"
	}
	f.Code = importer.RebasePath(filepath.ToSlash(built), ".", ".")
	t.res.Skip("functions."+name+".code", "Resources."+name+".Metadata", "the code is `sam build`'s output (BuildMethod %s), not the source: run `sam build` again after changing the source", method)
	return ""
}

// lambdaFunction carries a plain AWS::Lambda::Function over as an invoke
// function (its code is in S3 or inline).
func (t *translator) lambdaFunction(name string, props map[string]any) {
	t.res.Config.Functions[name] = config.Function{Runtime: "invoke", FunctionName: t.awsFunctionName(name), Region: t.o.Region}
	t.res.Skip("functions."+name, "Resources."+name, "an AWS::Lambda::Function's code is deployed from S3 or inline: it is invoked on AWS through the Lambda Invoke API (set endpoint: for LocalStack or the emulator)")
}

// definition loads an API's DefinitionBody or local DefinitionUri through
// the OpenAPI importer.
func (t *translator) definition(a *api, props map[string]any, src string) {
	var data []byte
	switch {
	case props["DefinitionBody"] != nil:
		t.e.at = "routes"
		body := t.e.eval(props["DefinitionBody"], src+".DefinitionBody")
		var err error
		if data, err = json.Marshal(body); err != nil {
			t.res.Skip("routes", src+".DefinitionBody", "could not be read: %v", err)
			return
		}
	case props["DefinitionUri"] != nil:
		uri, ok := t.e.eval(props["DefinitionUri"], src+".DefinitionUri").(string)
		if !ok || strings.HasPrefix(uri, "s3://") {
			t.res.Skip("routes", src+".DefinitionUri", "a definition in S3 cannot be read; import the OpenAPI file itself")
			return
		}
		var err error
		if data, err = config.ReadLimited(filepath.Join(t.o.Dir, uri), openapi.MaxSize); err != nil {
			t.res.Skip("routes", src+".DefinitionUri", "could not be read: %v", err)
			return
		}
	default:
		return
	}
	err := openapi.Into(t.res, data, openapi.Options{
		Source: src + ".Definition", Functions: t.localFns, HTTP: &a.http,
		Region: t.o.Region, AccountID: t.o.AccountID, Partition: "aws",
	})
	if err != nil {
		t.res.Skip("routes", src, "its OpenAPI definition could not be read: %v", err)
	}
	for _, r := range t.res.Config.Routes {
		t.keys[r.Route] = true
	}
}

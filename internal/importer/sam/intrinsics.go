package sam

import (
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
	"github.com/portcullis/portcullis/internal/importer"
)

// parse reads a CloudFormation template, YAML or JSON, into plain maps and
// lists. The YAML short forms (!Ref, !GetAtt, !Sub, ...) become the long
// forms ({"Ref": ...}, {"Fn::GetAtt": [...]}), so the evaluator knows one
// shape. top is the YAML node of the template's top mapping, for the lines
// of notes (lineOf).
func parse(data []byte) (m map[string]any, top *yaml.Node, err error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, nil, fmt.Errorf("sam: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, nil, errors.New("sam: the template is empty")
	}
	r := &nodeReader{}
	v, err := r.fromNode(root.Content[0], 0)
	if err != nil {
		return nil, nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil, errors.New("sam: the template's top level is not a mapping")
	}
	return m, root.Content[0], nil
}

// maxDepth bounds nesting, so a hostile template cannot exhaust the stack.
const maxDepth = 200

// maxAliasValues bounds the values YAML aliases expand to in one template,
// so that aliases of aliases (a "billion laughs") cannot exhaust memory;
// reusing a block a few times stays far below it.
const maxAliasValues = 100_000

// nodeReader turns a YAML node tree into plain values, counting what
// aliases expand to.
type nodeReader struct {
	aliasDepth  int // > 0 while reading through an alias
	aliasValues int
}

func (r *nodeReader) fromNode(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("sam: the template nests too deeply")
	}
	if r.aliasDepth > 0 {
		if r.aliasValues++; r.aliasValues > maxAliasValues {
			return nil, fmt.Errorf("sam: line %d: the template's YAML aliases expand to more than %d values (CloudFormation accepts no aliases at all)", n.Line, maxAliasValues)
		}
	}
	if tag := n.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") {
		name := tag[1:]
		var inner any
		if n.Kind == yaml.ScalarNode {
			inner = n.Value
			if name == "GetAtt" {
				res, attr, _ := strings.Cut(n.Value, ".")
				inner = []any{res, attr}
			}
		} else {
			plainNode := *n
			plainNode.Tag = ""
			var err error
			if inner, err = r.fromNode(&plainNode, depth+1); err != nil {
				return nil, err
			}
		}
		switch name {
		case "Ref", "Condition":
			return map[string]any{name: inner}, nil
		}
		return map[string]any{"Fn::" + name: inner}, nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return r.fromNode(n.Content[0], depth+1)
	case yaml.AliasNode:
		r.aliasDepth++
		defer func() { r.aliasDepth-- }()
		return r.fromNode(n.Alias, depth+1)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := r.fromNode(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := r.fromNode(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value, nil
	}
	return v, nil
}

// noValue is AWS::NoValue: the property it stands for is removed.
type noValue struct{}

// evaluator resolves intrinsic functions against the template, the
// parameters and the local stand-ins for AWS's pseudo parameters. What
// depends on a real AWS resource becomes an environment placeholder
// (${NAME}) with a note. Strings it returns are configuration-ready:
// literal `${NAME}` text is escaped.
type evaluator struct {
	t         *translator
	params    map[string]any
	pseudo    map[string]string
	resources map[string]map[string]any
	mappings  map[string]any
	condDefs  map[string]any
	conds     map[string]bool
	// evaluating are the conditions being evaluated (to tell a cycle).
	evaluating map[string]bool
	noted      map[string]bool
	at         string // the configuration path being produced, for notes
	includes   int    // AWS::Include transforms being evaluated
}

// placeholder returns ${env} and notes, once per name, what to set it to.
func (e *evaluator) placeholder(env, src, why string) string {
	env = importer.EnvName(env)
	if !e.noted[env+"\x00"+e.at] {
		e.noted[env+"\x00"+e.at] = true
		e.t.res.Add(importer.Note{Path: e.at, Source: src, Placeholder: true, Reason: why + ": set the environment variable " + env + " (or edit the value)"})
	}
	return importer.EnvPlaceholder(env)
}

var dynamicRef = regexp.MustCompile(`\{\{resolve:([a-z-]+):([^}]*)\}\}`)

// dynamicRefs replaces each dynamic reference ({{resolve:ssm:NAME}} and
// the like) in s, configuration text, with a placeholder: its value lives
// in AWS. CloudFormation resolves them after Fn::Sub and Fn::Join, so
// their results go through here too.
func (e *evaluator) dynamicRefs(s, src string) string {
	if !strings.Contains(s, "{{resolve:") {
		return s
	}
	return dynamicRef.ReplaceAllStringFunc(s, func(m string) string {
		p := dynamicRef.FindStringSubmatch(m)
		name, _, _ := strings.Cut(p[2], ":")
		return e.placeholder(strings.ToUpper(p[1])+"_"+name, src, "a "+p[1]+" value ("+name+") lives in AWS")
	})
}

func (e *evaluator) eval(v any, src string) any {
	switch t := v.(type) {
	case string:
		return e.dynamicRefs(importer.EscapeEnv(t), src)
	case []any:
		out := make([]any, 0, len(t))
		for i, x := range t {
			r := e.eval(x, src+"["+strconv.Itoa(i)+"]")
			if _, drop := r.(noValue); !drop {
				out = append(out, r)
			}
		}
		return out
	case map[string]any:
		if len(t) == 1 {
			for k, arg := range t {
				if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
					return e.intrinsic(k, arg, src)
				}
			}
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			r := e.eval(x, src+"."+k)
			if _, drop := r.(noValue); !drop {
				out[k] = r
			}
		}
		return out
	}
	return v
}

func (e *evaluator) intrinsic(fn string, arg any, src string) any {
	src += "." + fn
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, _ := e.eval(arg, src).(string)
		return e.ref(name, src)
	case "Fn::GetAtt":
		var res, attr string
		switch a := arg.(type) {
		case string:
			res, attr, _ = strings.Cut(a, ".")
		case []any:
			if len(a) == 2 {
				res, _ = e.eval(a[0], src).(string)
				attr, _ = e.eval(a[1], src).(string)
			}
		}
		return e.getAtt(res, attr, src)
	case "Fn::Sub":
		text, vars := "", map[string]any{}
		switch a := arg.(type) {
		case string:
			text = a
		case []any:
			if len(a) == 2 {
				text, _ = a[0].(string)
				for k, v := range asMap(a[1]) {
					vars[k] = e.eval(v, src)
				}
			}
		}
		return e.dynamicRefs(e.sub(text, vars, src), src)
	case "Fn::Join":
		if len(args) == 2 {
			sep, _ := e.eval(args[0], src).(string)
			list, _ := e.eval(args[1], src).([]any)
			parts := make([]string, 0, len(list))
			for _, p := range list {
				parts = append(parts, text(p))
			}
			return e.dynamicRefs(strings.Join(parts, sep), src)
		}
	case "Fn::If":
		if len(args) == 3 {
			name, _ := args[0].(string)
			if e.condition(name, src) {
				return e.eval(args[1], src)
			}
			return e.eval(args[2], src)
		}
	case "Fn::Select":
		if len(args) == 2 {
			i, err := strconv.Atoi(text(e.eval(args[0], src)))
			list, _ := e.eval(args[1], src).([]any)
			if err == nil && i >= 0 && i < len(list) {
				return list[i]
			}
		}
	case "Fn::Split":
		if len(args) == 2 {
			sep := text(e.eval(args[0], src))
			var out []any
			for _, p := range strings.Split(text(e.eval(args[1], src)), sep) {
				out = append(out, p)
			}
			return out
		}
	case "Fn::FindInMap":
		if len(args) == 3 {
			top := asMap(e.mappings[text(e.eval(args[0], src))])
			second := asMap(top[text(e.eval(args[1], src))])
			if v, ok := second[text(e.eval(args[2], src))]; ok {
				return e.eval(v, src)
			}
		}
	case "Fn::Base64":
		return base64.StdEncoding.EncodeToString([]byte(text(e.eval(arg, src))))
	case "Fn::Transform":
		if v, ok := e.include(asMap(arg), src); ok {
			return v
		}
	case "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition":
		return e.boolean(map[string]any{fn: arg}, src)
	}
	why := fn + " cannot be resolved outside AWS"
	if !awsIntrinsics[fn] {
		why = fn + " is not a CloudFormation intrinsic function (a misspelt !tag?)"
	}
	return e.placeholder(strings.TrimPrefix(fn, "Fn::")+"_"+lastPart(src), src, why)
}

// awsIntrinsics are CloudFormation's intrinsic functions (and the
// language extensions'); a short-form tag that names none is a mistake.
var awsIntrinsics = map[string]bool{
	"Ref": true, "Condition": true, "Fn::Base64": true, "Fn::Cidr": true, "Fn::FindInMap": true, "Fn::GetAtt": true,
	"Fn::GetAZs": true, "Fn::ImportValue": true, "Fn::Join": true, "Fn::Select": true, "Fn::Split": true, "Fn::Sub": true,
	"Fn::Transform": true, "Fn::If": true, "Fn::Equals": true, "Fn::Not": true, "Fn::And": true, "Fn::Or": true,
	"Fn::Length": true, "Fn::ToJsonString": true, "Fn::ForEach": true,
}

func lastPart(src string) string {
	parts := strings.FieldsFunc(src, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	for i := len(parts) - 1; i >= 0; i-- {
		if !strings.HasPrefix(parts[i], "Fn::") && parts[i] != "Ref" {
			return parts[i]
		}
	}
	return "VALUE"
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub is Fn::Sub: ${Name}, ${Res.Attr}, ${AWS::Region}; ${!Text} is the
// literal ${Text}.
func (e *evaluator) sub(tmpl string, vars map[string]any, src string) string {
	var b strings.Builder
	last := 0
	for _, m := range subVar.FindAllStringSubmatchIndex(tmpl, -1) {
		b.WriteString(importer.EscapeEnv(tmpl[last:m[0]]))
		last = m[1]
		name := tmpl[m[2]:m[3]]
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			b.WriteString(importer.EscapeEnv("${" + lit + "}"))
			continue
		}
		if v, ok := vars[name]; ok {
			b.WriteString(text(v))
			continue
		}
		if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			b.WriteString(text(e.getAtt(res, attr, src)))
			continue
		}
		b.WriteString(text(e.ref(name, src)))
	}
	b.WriteString(importer.EscapeEnv(tmpl[last:]))
	return b.String()
}

// text is a value as Sub and Join write it.
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil, noValue:
		return ""
	case []any:
		parts := make([]string, len(t))
		for i, p := range t {
			parts[i] = text(p)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

func (e *evaluator) ref(name, src string) any {
	if name == "AWS::NoValue" {
		return noValue{}
	}
	if v, ok := e.pseudo[name]; ok {
		return v
	}
	if strings.HasPrefix(name, "AWS::") {
		return e.placeholder(name, src, name+" has no local value")
	}
	if v, ok := e.params[name]; ok {
		return v
	}
	if r, ok := e.resources[name]; ok {
		typ, _ := r["Type"].(string)
		switch typ {
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			return e.t.awsFunctionName(name)
		case "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api":
			return e.t.apiID
		case "AWS::IAM::Role":
			return name // a role's name; see getAtt
		}
		if apiPart(typ) {
			return name // an id only the API's own resources use (cfnapi.go)
		}
		return e.placeholder(name, src, typ+" "+name+" is an AWS resource Portcullis does not create")
	}
	switch name {
	case "ServerlessHttpApi", "ServerlessRestApi":
		return e.t.apiID
	}
	return e.placeholder(name, src, "nothing in the template is called "+name)
}

func (e *evaluator) getAtt(res, attr, src string) any {
	r := e.resources[res]
	typ, _ := r["Type"].(string)
	switch {
	case (typ == "AWS::Serverless::Function" || typ == "AWS::Lambda::Function") && attr == "Arn":
		return "arn:" + e.pseudo["AWS::Partition"] + ":lambda:" + e.pseudo["AWS::Region"] + ":" + e.pseudo["AWS::AccountId"] + ":function:" + e.t.awsFunctionName(res)
	case typ == "AWS::IAM::Role" && attr == "Arn":
		// Roles only let AWS services call each other: nothing local
		// needs one, so its ARN is written rather than asked for.
		return "arn:" + e.pseudo["AWS::Partition"] + ":iam::" + e.pseudo["AWS::AccountId"] + ":role/" + res
	case typ == "AWS::Cognito::UserPool" && attr == "Arn":
		id := e.placeholder(res, src, "Cognito user pool "+res+" is not created locally; its pool id")
		return "arn:" + e.pseudo["AWS::Partition"] + ":cognito-idp:" + e.pseudo["AWS::Region"] + ":" + e.pseudo["AWS::AccountId"] + ":userpool/" + id
	case typ == "AWS::Cognito::UserPool" && attr == "ProviderURL":
		id := e.placeholder(res, src, "Cognito user pool "+res+" is not created locally; its pool id")
		return "https://cognito-idp." + e.pseudo["AWS::Region"] + ".amazonaws.com/" + id
	}
	what := typ + " " + res
	if typ == "" {
		what = res
	}
	return e.placeholder(res+"_"+attr, src, "the "+attr+" of "+what+" lives in AWS")
}

// maxIncludes bounds nested AWS::Include transforms (an included file may
// include another, or itself).
const maxIncludes = 8

// include is the AWS::Include transform (Fn::Transform with Name
// AWS::Include): the YAML or JSON file at Parameters.Location, relative to
// the template, read as template text (short forms too) and evaluated in
// its place. ok is false, with a note, when it cannot be read.
func (e *evaluator) include(arg map[string]any, src string) (v any, ok bool) {
	if text(arg["Name"]) != "AWS::Include" {
		e.t.res.Skip(e.at, src, "the transform %s is not run locally", text(arg["Name"]))
		return nil, false
	}
	loc := text(e.eval(asMap(arg["Parameters"])["Location"], src+".Parameters.Location"))
	if loc == "" || strings.HasPrefix(loc, "s3://") || strings.Contains(loc, "://") {
		e.t.res.Skip(e.at, src, "AWS::Include of %q: only a local file can be included (import the file itself, or give its local path)", loc)
		return nil, false
	}
	if e.includes >= maxIncludes {
		e.t.res.Skip(e.at, src, "AWS::Include of %s: includes nest more than %d deep", loc, maxIncludes)
		return nil, false
	}
	path := loc
	if !filepath.IsAbs(path) {
		path = filepath.Join(e.t.o.Dir, path)
	}
	data, err := config.ReadLimited(path, MaxSize)
	if err == nil {
		var doc map[string]any
		if doc, _, err = parse(data); err == nil {
			e.includes++
			defer func() { e.includes-- }()
			return e.eval(doc, src+"("+loc+")"), true
		}
	}
	e.t.res.Skip(e.at, src, "AWS::Include of %s could not be read: %v", loc, err)
	return nil, false
}

// condition evaluates the named condition, once.
// condition evaluates the template's condition name. One that is not
// defined, or that refers to itself, is false with a note (CloudFormation
// refuses such a template), so what it guards is left out, never kept
// silently or dropped silently.
func (e *evaluator) condition(name, src string) bool {
	if v, ok := e.conds[name]; ok {
		if e.evaluating[name] && !e.noted["cycle\x00"+name] {
			e.noted["cycle\x00"+name] = true
			e.t.res.Skip("", "Conditions."+name, "condition %s refers to itself (from %s); taken as false, so what it guards is left out", name, src)
		}
		return v
	}
	def, defined := e.condDefs[name]
	if !defined {
		e.conds[name] = false
		e.t.res.Skip("", src, "condition %q is not defined under Conditions; taken as false, so what it guards is left out", name)
		return false
	}
	e.conds[name] = false // while it is evaluated: a condition that refers to itself is false
	e.evaluating[name] = true
	v := e.boolean(def, "Conditions."+name)
	delete(e.evaluating, name)
	e.conds[name] = v
	return v
}

func (e *evaluator) boolean(v any, src string) bool {
	m := asMap(v)
	if len(m) != 1 {
		b, _ := v.(bool)
		return b || strings.EqualFold(text(v), "true")
	}
	for k, arg := range m {
		args, _ := arg.([]any)
		switch k {
		case "Condition":
			name, _ := arg.(string)
			return e.condition(name, src)
		case "Fn::Equals":
			if len(args) == 2 {
				return text(e.eval(args[0], src)) == text(e.eval(args[1], src))
			}
		case "Fn::Not":
			if len(args) == 1 {
				return !e.boolean(args[0], src)
			}
		case "Fn::And":
			for _, a := range args {
				if !e.boolean(a, src) {
					return false
				}
			}
			return len(args) > 0
		case "Fn::Or":
			for _, a := range args {
				if e.boolean(a, src) {
					return true
				}
			}
			return false
		}
	}
	return false
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

package registry

import (
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/function"
)

// Client is a runtime client run by an interpreter, such as Portcullis's
// own Python or Node.js client: what a language runtime tells
// BuildInterpreted about itself.
type Client struct {
	// Interpreter is the default interpreter, looked up in PATH
	// ("python3", "node").
	Interpreter string
	// Install says how to get the interpreter, for the error when it is
	// missing ("install Python 3 (Debian: apt-get install python3)").
	Install string
	// Args follow the interpreter on the command line (the client itself).
	Args []string
	// CheckHandler checks the handler string against the code folder
	// (absolute) and says what is wrong with it.
	CheckHandler func(handler, code string) error
}

// reservedEnv are the variables Lambda sets and a function's env may not
// (AWS refuses them too). Credentials are not among them: here a function
// gets AWS credentials only through env.
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_TIMEOUT", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_LAMBDA_RUNTIME_API", "AWS_REGION", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT",
}

// BuildInterpreted validates a block of a language runtime (handler, code,
// interpreter, env, timeout, concurrency, queue_size, memory_mb) and
// builds the process that runs cl in code, with the variables Lambda
// sets for such a runtime: _HANDLER, AWS_EXECUTION_ENV (AWS_Lambda_ and the
// runtime name), AWS_LAMBDA_INITIALIZATION_TYPE, AWS_LAMBDA_FUNCTION_TIMEOUT
// and LANG, besides what function.Process sets.
func (b *Block) BuildInterpreted(cl Client) (*function.Process, error) {
	c := b.Conf
	errs := b.Only("handler", "code", "interpreter", "env", "concurrency", "queue_size", "memory_mb", "timeout")
	code := b.Path(c.Code)
	if c.Code == "" {
		code = b.Path(".")
	}
	codeOK := false
	if fi, err := os.Stat(code); err != nil {
		errs = append(errs, *b.Errorf("code", "code folder %s: %v", code, unwrapPathError(err)))
	} else if !fi.IsDir() {
		errs = append(errs, *b.Errorf("code", "code %s is not a folder (give the folder that holds the handler's file)", code))
	} else {
		codeOK = true
	}
	if c.Handler == "" {
		errs = append(errs, *b.Errorf("", "handler is required for runtime %s", c.Runtime))
	} else if codeOK {
		if err := cl.CheckHandler(c.Handler, code); err != nil {
			errs = append(errs, *b.Errorf("handler", "%v", err))
		}
	}
	interp := c.Interpreter
	field := "interpreter"
	if interp == "" {
		interp, field = cl.Interpreter, "runtime"
	} else if strings.Contains(interp, "/") {
		interp = b.Path(interp)
	}
	if err := Executable(interp, cl.Install+", or set interpreter: to its path"); err != nil {
		errs = append(errs, *b.Errorf(field, "interpreter %v", err))
	}
	for _, k := range sortedKeys(c.Env) {
		if slices.Contains(reservedEnv, k) {
			errs = append(errs, *b.Errorf("env."+k, "%s is set by Lambda and cannot be set in env", k))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	s := b.ProcessSettings()
	s.Command = append([]string{interp}, cl.Args...)
	s.Dir = code
	timeout := c.Timeout.Std()
	if timeout <= 0 {
		timeout = function.DefaultTimeout
	}
	env := map[string]string{"LANG": "en_US.UTF-8"} // as on Lambda; env may change it
	for k, v := range c.Env {
		env[k] = v
	}
	env["_HANDLER"] = c.Handler
	env["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + c.Runtime
	env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "on-demand"
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(int(math.Ceil(timeout.Seconds())))
	s.Env = env
	return b.NewProcess(s)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

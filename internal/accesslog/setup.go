package accesslog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/portcullis/portcullis/internal/config"
)

// Setup checks f's `access_log:` block without opening or writing
// anything: the format compiles and uses only variables that known
// accepts (the gateway's list), and the output is a stream or a file path
// whose folder exists. It returns the compiled format (nil: the default
// JSON line) and the output with a relative path resolved against the
// configuration file's folder. Problems are *config.Errors with positions.
func Setup(f *config.File, known func(name string) error) (*Format, string, error) {
	c := f.Config.AccessLog
	var errs config.Errors
	var format *Format
	if c.Format != "" {
		var err error
		format, err = Compile(c.Format)
		if err != nil {
			errs = append(errs, *f.Errorf("access_log.format", "%v", err))
		} else {
			for _, name := range format.Names() {
				if err := checkName(name, known); err != nil {
					errs = append(errs, *f.Errorf("access_log.format", "%v", err))
				}
			}
		}
	}
	out := OutputPath(f)
	if !IsStream(out) {
		if err := checkPath(out); err != nil {
			errs = append(errs, *f.Errorf("access_log.output", "%v", err))
		}
	}
	if err := errs.Err(); err != nil {
		return nil, "", err
	}
	return format, out, nil
}

// OutputPath returns f's access_log output: "stderr", "stdout" or a file
// path, a relative one resolved against the configuration file's folder.
func OutputPath(f *config.File) string {
	out := f.Config.AccessLog.Output
	switch {
	case out == "":
		return Stderr
	case IsStream(out):
		return out
	}
	return f.Resolve(out)
}

// checkName accepts name if the gateway knows it or if it is an identity
// field of a signed request (unsigned), and otherwise says why: an AWS
// variable Portcullis cannot know is named as such.
func checkName(name string, known func(string) error) error {
	err := known(name)
	if err == nil || unsigned(name) {
		return nil
	}
	if why, ok := AWSOnly(name); ok {
		return fmt.Errorf("$context.%s is an AWS variable Portcullis cannot know (%s)", name, why)
	}
	return err
}

// unsigned says whether name is an identity field that AWS fills in only
// for a request signed with AWS credentials (IAM authorization, Cognito
// identity pools) and writes as "-" for every other request. Portcullis
// authorizes no signed request, so it has no value, exactly as on AWS for
// an API with JWT, Lambda or no authorization: AWS's console formats for
// REST APIs log identity.caller and identity.user, and work unchanged.
func unsigned(name string) bool {
	switch name {
	case "identity.accountId", "identity.caller", "identity.user", "identity.userArn",
		"identity.principalOrgId", "identity.accessKey",
		"identity.cognitoIdentityId", "identity.cognitoIdentityPoolId", "identity.cognitoAuthenticationType",
		"identity.cognitoAuthenticationProvider", "identity.cognitoAmr":
		return true
	}
	return false
}

// AWSOnly says whether name is an AWS access log variable that Portcullis
// has no value for, and why (for `check`, and for the importer, which
// leaves out a format that names one).
func AWSOnly(name string) (string, bool) {
	switch name {
	case "identity.vpcId", "identity.vpceId":
		return "it comes from private (VPC endpoint) APIs", true
	case "wafResponseCode", "webaclArn", "waf.error", "waf.latency", "waf.status":
		return "it comes from AWS WAF", true
	case "xrayTraceId":
		return "it comes from AWS X-Ray; Portcullis traces with OpenTelemetry", true
	case "customDomain.basePathMatched":
		return "it comes from custom domain API mappings", true
	case "resourceId":
		return "REST resource ids exist only in AWS", true
	case "error.validationErrorString":
		return "it comes from REST request validation", true
	case "awsEndpointRequestId", "awsEndpointRequestId2", "integration.requestId", "authorizer.requestId":
		return "it is an AWS service's request id", true
	case "authorizer.integrationLatency", "authorizer.integrationStatus":
		return "it is the Lambda service's view of the authorizer call", true
	case "dataProcessed":
		return "it is an AWS billing measure", true
	}
	for _, p := range []string{"authenticate.", "authorize."} {
		if strings.HasPrefix(name, p) {
			return "it comes from REST's IAM and resource policy steps", true
		}
	}
	return "", false
}

// checkPath checks that a log file could be opened at path, without
// creating it: its folder exists and it is not itself a folder.
func checkPath(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("the folder of %s: %w", path, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder, not a file", path)
	}
	return nil
}

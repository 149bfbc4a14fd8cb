package importer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/accesslog"
)

// AccessLog carries a stage's access log settings (SAM's AccessLogSettings
// of an HTTP API, AccessLogSetting of a REST API: {DestinationArn, Format})
// into `access_log.format`. The lines go to stderr, as Portcullis's do,
// not to the CloudWatch group DestinationArn names (noted). A format that
// does not compile, or that names a variable only AWS knows, is noted with
// why and left out (shown commented), so the imported configuration still
// passes `check`.
func AccessLog(r *Result, source string, settings map[string]any) {
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		v := settings[k]
		switch k {
		case "Format":
			format, ok := v.(string)
			if !ok {
				r.Skip("access_log.format", source+".Format", "Format value %v could not be read", v)
				continue
			}
			if why := unusableFormat(format); why != "" {
				r.Add(Note{Path: "access_log", Source: source + ".Format", Reason: why, Value: map[string]any{"format": format}})
				continue
			}
			r.Config.AccessLog.Format = format
		case "DestinationArn":
			r.Skip("access_log.output", source+".DestinationArn",
				"DestinationArn: the access log goes to stderr (set access_log.output for a file), not to a CloudWatch log group")
		default:
			r.Skip("access_log", source+"."+k, "%s is not an access log setting", k)
		}
	}
}

// unusableFormat says why format cannot be served as it is, or "".
func unusableFormat(format string) string {
	f, err := accesslog.Compile(format)
	if err != nil {
		return fmt.Sprintf("the format: %v", err)
	}
	var why []string
	for _, name := range f.Names() {
		if w, ok := accesslog.AWSOnly(name); ok {
			why = append(why, fmt.Sprintf("$context.%s is an AWS variable Portcullis cannot know (%s)", name, w))
		}
	}
	return strings.Join(why, "; ")
}

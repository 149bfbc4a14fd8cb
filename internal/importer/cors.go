package importer

// CORS records an API's CORS configuration, already in AWS's lower-camel
// names (allowOrigins, allowMethods, allowHeaders, exposeHeaders, maxAge,
// allowCredentials). Portcullis has no `cors:` setting yet, so it is left
// as a comment where `cors:` would go; once it has one, this is the one
// place that sets it instead.
func CORS(r *Result, source string, cors map[string]any) {
	r.Add(Note{
		Path:   "cors",
		Source: source,
		Reason: "Portcullis has no CORS setting yet: browsers' cross-origin requests will fail until it has one",
		Value:  map[string]any{"cors": cors},
	})
}

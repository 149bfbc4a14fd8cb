package route

import "testing"

func BenchmarkMatch(b *testing.B) {
	tab, err := NewTable(realisticKeys(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			var p Params
			b.ReportAllocs()
			for b.Loop() {
				tab.Match(c.method, c.path, &p)
			}
		})
	}
}

func BenchmarkExpand(b *testing.B) {
	tab, err := NewTable(mustKeys(b, "ANY /api/{id}/{proxy+}"))
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := ParseTemplate("https://backend:8443/v1/{id}/{proxy}?stage=prod")
	if err != nil {
		b.Fatal(err)
	}
	var p Params
	if tab.Match("GET", "/api/42/a/b c/d.json", &p) < 0 {
		b.Fatal("no match")
	}
	b.ReportAllocs()
	for b.Loop() {
		tpl.Expand(&p)
	}
}

package dashboard

import (
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func newSite(t *testing.T) *Site {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Every relative import of every module names an embedded file, so the page
// never asks for a script that is not there.
func TestModuleImportsResolve(t *testing.T) {
	s := newSite(t)
	imports := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"](\.[^'"]+)['"]`)
	n := 0
	for _, name := range s.Names() {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		a, _ := s.Lookup(name)
		for _, m := range imports.FindAllStringSubmatch(string(a.Body), -1) {
			n++
			target := path.Join(path.Dir(name), m[1])
			if _, ok := s.Lookup(target); !ok {
				t.Errorf("%s imports %s: no such embedded file", name, m[1])
			}
		}
	}
	if n == 0 {
		t.Fatal("no imports found: the pattern no longer matches the modules")
	}
}

// No script or style sits where the CSP (script-src 'self', script-src-attr
// 'none') would block it.
func TestNoInlineCode(t *testing.T) {
	s := newSite(t)
	a, ok := s.Lookup(IndexName)
	if !ok {
		t.Fatal("no index.html")
	}
	body := string(a.Body)
	if m := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`).FindString(body); m != "" {
		t.Errorf("inline script: %s", m)
	}
	if m := regexp.MustCompile(`\son[a-z]+=`).FindString(body); m != "" {
		t.Errorf("inline event handler: %s", m)
	}
	for _, name := range s.Names() {
		a, _ := s.Lookup(name)
		if strings.HasSuffix(name, ".js") && (strings.Contains(string(a.Body), "innerHTML") || strings.Contains(string(a.Body), "eval(")) {
			t.Errorf("%s uses innerHTML or eval: server strings must go through textContent", name)
		}
	}
}

func TestLookupRefusesUncleanNames(t *testing.T) {
	s := newSite(t)
	for _, name := range []string{"", "/app.css", "./app.css", "js/../app.css", "js//main.js", "js\\main.js", "js", "..", "../go.mod"} {
		if _, ok := s.Lookup(name); ok {
			t.Errorf("Lookup(%q) found something", name)
		}
	}
	for _, name := range []string{IndexName, "app.css", "js/main.js", "favicon.svg"} {
		if a, ok := s.Lookup(name); !ok || len(a.Body) == 0 {
			t.Errorf("Lookup(%q): missing or empty", name)
		}
	}
}

func TestServe(t *testing.T) {
	s := newSite(t)
	a, _ := s.Lookup("app.css")
	cases := []struct {
		name, method, inm string
		status            int
		body              bool
	}{
		{"plain GET", http.MethodGet, "", 200, true},
		{"HEAD", http.MethodHead, "", 200, false},
		{"matching ETag", http.MethodGet, a.ETag, 304, false},
		{"weak form of the ETag", http.MethodGet, "W/" + a.ETag, 304, false},
		{"one of several", http.MethodGet, `"x", ` + a.ETag, 304, false},
		{"star", http.MethodGet, "*", 304, false},
		{"other ETag", http.MethodGet, `"nope"`, 200, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/dashboard/app.css", nil)
			if tc.inm != "" {
				req.Header.Set("If-None-Match", tc.inm)
			}
			rec := httptest.NewRecorder()
			a.Serve(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Body.Len() > 0; got != tc.body {
				t.Errorf("body present %v, want %v", got, tc.body)
			}
			if rec.Header().Get("ETag") != a.ETag || rec.Header().Get("Cache-Control") != "no-cache" {
				t.Errorf("headers %v", rec.Header())
			}
			if tc.status == 200 && rec.Header().Get("Content-Type") != "text/css; charset=utf-8" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

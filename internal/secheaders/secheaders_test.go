package secheaders

import (
	"net/http"
	"strings"
	"testing"
)

func directives(csp string) map[string]bool {
	out := map[string]bool{}
	for _, d := range strings.Split(csp, ";") {
		out[strings.TrimSpace(d)] = true
	}
	return out
}

func TestHelmetSet(t *testing.T) {
	h := http.Header{}
	h.Set("X-Powered-By", "Express")
	New().Set(h, false)
	want := map[string]string{
		"Cross-Origin-Opener-Policy":        "same-origin",
		"Cross-Origin-Resource-Policy":      "same-origin",
		"Origin-Agent-Cluster":              "?1",
		"Referrer-Policy":                   "no-referrer",
		"Strict-Transport-Security":         "max-age=31536000; includeSubDomains",
		"X-Content-Type-Options":            "nosniff",
		"X-DNS-Prefetch-Control":            "off",
		"X-Download-Options":                "noopen",
		"X-Frame-Options":                   "SAMEORIGIN",
		"X-Permitted-Cross-Domain-Policies": "none",
		"X-XSS-Protection":                  "0",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if h.Get("X-Powered-By") != "" {
		t.Error("X-Powered-By not removed")
	}
	// helmet 8.3.0 with the old mock's directives, compared as a set.
	wantCSP := directives("default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline';upgrade-insecure-requests;connect-src 'self' ws: wss:")
	got := directives(h.Get("Content-Security-Policy"))
	if len(got) != 12 || len(got) != len(wantCSP) {
		t.Fatalf("CSP has %d directives, want 12: %q", len(got), h.Get("Content-Security-Policy"))
	}
	for d := range wantCSP {
		if !got[d] {
			t.Errorf("CSP lacks %q", d)
		}
	}
}

func TestPageCSPDropsUpgrade(t *testing.T) {
	h := http.Header{}
	New().Set(h, true)
	got := directives(h.Get("Content-Security-Policy"))
	if got["upgrade-insecure-requests"] || len(got) != 11 || !got["connect-src 'self' ws: wss:"] {
		t.Fatalf("page CSP %q", h.Get("Content-Security-Policy"))
	}
}

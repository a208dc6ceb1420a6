package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/livekit-mock/livekit-mock/internal/secheaders"
)

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// GET / is the dashboard for browsers and LiveKit's plain "OK" for everyone
// else (SPEC §11).
func TestRootAnswersByAcceptAndAdminAPI(t *testing.T) {
	on := newTestServer(t, nil)
	off := newTestServer(t, map[string]string{"ADMIN_API": "off"})
	cases := []struct {
		name   string
		srv    *testServer
		method string
		accept string
		page   bool
	}{
		{"browser", on, http.MethodGet, browserAccept, true},
		{"text/html only", on, http.MethodGet, "text/html", true},
		{"no Accept (curl-like health check)", on, http.MethodGet, "", false},
		{"wildcard", on, http.MethodGet, "*/*", false},
		{"json client", on, http.MethodGet, "application/json", false},
		{"html refused with q=0", on, http.MethodGet, "text/html;q=0, */*", false},
		{"malformed Accept", on, http.MethodGet, "text/html;;;=,", false},
		{"ADMIN_API off, browser", off, http.MethodGet, browserAccept, false},
		{"HEAD, no Accept", on, http.MethodHead, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.srv.do(t, tc.method, "/", "", map[string]string{"Accept": tc.accept})
			if r.status != http.StatusOK {
				t.Fatalf("status %d, body %q", r.status, r.raw)
			}
			if got := r.header.Get("Content-Security-Policy"); got != secheaders.PageCSP {
				t.Errorf("CSP %q, want the page group's", got)
			}
			if strings.Contains(r.header.Get("Content-Security-Policy"), "upgrade-insecure-requests") {
				t.Error("page CSP upgrades insecure requests: the dashboard would break over plain HTTP")
			}
			if !strings.Contains(r.header.Get("Vary"), "Accept") {
				t.Errorf("Vary %q: caches must key / on Accept", r.header.Get("Vary"))
			}
			ct := r.header.Get("Content-Type")
			switch {
			case tc.page:
				if ct != "text/html; charset=utf-8" || !strings.Contains(r.raw, "<title>livekit-mock dashboard</title>") {
					t.Errorf("want the page, got %q %.80q", ct, r.raw)
				}
			case tc.method == http.MethodHead:
				if ct != "text/plain; charset=utf-8" || r.raw != "" {
					t.Errorf("HEAD: %q %q", ct, r.raw)
				}
			default:
				if ct != "text/plain; charset=utf-8" || r.raw != "OK" {
					t.Errorf("want plain OK, got %q %q", ct, r.raw)
				}
			}
		})
	}
}

// The page references only its own assets, each served with its type and a
// validator, and nothing inline that the CSP would block.
func TestDashboardAssets(t *testing.T) {
	s := newTestServer(t, nil)
	page := s.do(t, http.MethodGet, "/", "", map[string]string{"Accept": "text/html"})
	for _, bad := range []string{"<script>", " style=", " onclick=", " onload=", "javascript:", "http://", "https://"} {
		if strings.Contains(page.raw, bad) {
			t.Errorf("page contains %q, which the CSP forbids or which leaves the origin", bad)
		}
	}
	refs := regexp.MustCompile(`(?:href|src)="(/dashboard/[^"]+)"`).FindAllStringSubmatch(page.raw, -1)
	if len(refs) < 3 {
		t.Fatalf("page references %d assets, want the stylesheet, the script and the icon", len(refs))
	}
	for _, ref := range refs {
		r := s.do(t, http.MethodGet, ref[1], "", nil)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d", ref[1], r.status)
		}
	}

	cases := []struct {
		path, ctype string
	}{
		{"/dashboard/app.css", "text/css; charset=utf-8"},
		{"/dashboard/js/main.js", "text/javascript; charset=utf-8"},
		{"/dashboard/js/api.js", "text/javascript; charset=utf-8"},
		{"/dashboard/favicon.svg", "image/svg+xml"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			r := s.do(t, http.MethodGet, tc.path, "", nil)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != tc.ctype {
				t.Fatalf("%d %q, want 200 %q", r.status, r.header.Get("Content-Type"), tc.ctype)
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Content-Security-Policy") != secheaders.PageCSP {
				t.Errorf("security headers missing: %v", r.header)
			}
			etag := r.header.Get("ETag")
			if etag == "" || r.header.Get("Cache-Control") != "no-cache" {
				t.Fatalf("ETag %q, Cache-Control %q: want a validator and revalidation", etag, r.header.Get("Cache-Control"))
			}
			again := s.do(t, http.MethodGet, tc.path, "", map[string]string{"If-None-Match": etag})
			if again.status != http.StatusNotModified || again.raw != "" {
				t.Errorf("If-None-Match: %d %q, want 304 with no body", again.status, again.raw)
			}
			stale := s.do(t, http.MethodGet, tc.path, "", map[string]string{"If-None-Match": `"old"`})
			if stale.status != http.StatusOK || stale.raw == "" {
				t.Errorf("stale ETag: %d", stale.status)
			}
		})
	}
}

func TestDashboardUnknownAndOff(t *testing.T) {
	on := newTestServer(t, nil)
	off := newTestServer(t, map[string]string{"ADMIN_API": "off"})
	cases := []struct {
		name string
		srv  *testServer
		path string
	}{
		{"missing asset", on, "/dashboard/nope.js"},
		{"directory", on, "/dashboard/js"},
		{"directory slash", on, "/dashboard/js/"},
		{"dot segments", on, "/dashboard/js/../app.css"},
		{"encoded traversal", on, "/dashboard/..%2f..%2fgo.mod"},
		{"index under /dashboard", on, "/dashboard/index.html"},
		{"asset with ADMIN_API off", off, "/dashboard/app.css"},
		{"info with ADMIN_API off", off, "/__admin/info"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.srv.do(t, http.MethodGet, tc.path, "", nil)
			if r.status != http.StatusNotFound || r.body["code"] != "not_found" {
				t.Errorf("%d %s, want 404 not_found", r.status, r.raw)
			}
		})
	}
	if r := on.do(t, http.MethodPost, "/", "", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", r.status)
	}
}

// The page group is same-origin only (SPEC §3.1), whatever ALLOWED_ORIGINS says.
func TestDashboardOriginPolicy(t *testing.T) {
	s := newTestServer(t, map[string]string{"ALLOWED_ORIGINS": "http://localhost:3000"})
	own := s.URL // httptest serves http://127.0.0.1:port, which is the Host the client sends
	cases := []struct {
		name, path, origin string
		want               int
	}{
		{"page, cross origin", "/", "http://evil.example", http.StatusForbidden},
		{"page, an API-allowed origin", "/", "http://localhost:3000", http.StatusForbidden},
		{"page, null origin", "/", "null", http.StatusForbidden},
		{"asset, cross origin", "/dashboard/js/main.js", "http://evil.example", http.StatusForbidden},
		{"page, same origin", "/", own, http.StatusOK},
		{"asset, same origin (module scripts send Origin)", "/dashboard/js/main.js", own, http.StatusOK},
		{"page, no origin", "/", "", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, tc.path, "", map[string]string{"Origin": tc.origin, "Accept": "text/html"})
			if r.status != tc.want {
				t.Fatalf("%d %s, want %d", r.status, r.raw, tc.want)
			}
			if tc.want == http.StatusForbidden && (r.body["code"] != "origin_not_allowed" || r.header.Get("Access-Control-Allow-Origin") != "") {
				t.Errorf("refusal: %s, ACAO %q", r.raw, r.header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

// GET /__admin/info names keys and limits, never a secret.
func TestAdminInfo(t *testing.T) {
	s := newTestServer(t, map[string]string{
		"LIVEKIT_KEYS": "otherkey: other-secret-value-123", "RATE_LIMIT_MAX": "7", "MAX_PARTICIPANTS": "3",
	})
	r := s.do(t, http.MethodGet, "/__admin/info", "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if keys, _ := r.body["api_keys"].([]any); len(keys) != 2 || keys[0] != "devkey" || keys[1] != "otherkey" {
		t.Errorf("api_keys %v, want [devkey otherkey]", r.body["api_keys"])
	}
	limits, _ := r.body["limits"].(map[string]any)
	if limits["rate_limit_max"] != float64(7) || limits["max_participants"] != float64(3) || limits["rate_limit_window_seconds"] != float64(60) {
		t.Errorf("limits %v", limits)
	}
	if r.body["version"] != Version || r.body["mode"] != "mock" || r.body["environment"] != "development" {
		t.Errorf("identity fields: %s", r.raw)
	}
	for _, secret := range []string{"other-secret-value-123", `"secret"`} {
		if strings.Contains(r.raw, secret) {
			t.Errorf("info shows a secret (%s): %s", secret, r.raw)
		}
	}
	if r := s.do(t, http.MethodGet, "/__admin/info", "", map[string]string{"Origin": "http://evil.example"}); r.status != http.StatusForbidden {
		t.Errorf("cross-origin info: %d, want 403 (API origin rule)", r.status)
	}

	// Production with ADMIN_API=on: the caller bearer of SPEC §5.4.
	prod := newTestServer(t, prodEnv(map[string]string{"ADMIN_API": "on"}))
	if r := prod.do(t, http.MethodGet, "/__admin/info", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("production without bearer: %d %s, want 401", r.status, r.raw)
	}
	tok := callerToken(t, prodJWTSecret, time.Minute, time.Now())
	if r := prod.do(t, http.MethodGet, "/__admin/info", "", map[string]string{"Authorization": "Bearer " + tok}); r.status != http.StatusOK {
		t.Errorf("production with bearer: %d %s", r.status, r.raw)
	}
	if strings.Contains(prod.do(t, http.MethodGet, "/__admin/info", "", map[string]string{"Authorization": "Bearer " + tok}).raw, prodAPISecret) {
		t.Error("production info shows the API secret")
	}
}

// Package secheaders sets the header set helmet 8 sends, with the old mock's
// Content-Security-Policy merged into helmet's defaults (reference/security.md §1).
package secheaders

import "net/http"

// CSP is the policy of every route group but the page group: helmet 8.3.0's
// defaults with the old mock's directives merged in, in helmet's order.
const CSP = "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';" +
	"frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';" +
	"script-src-attr 'none';style-src 'self' 'unsafe-inline';upgrade-insecure-requests;" +
	"connect-src 'self' ws: wss:"

// PageCSP leaves out upgrade-insecure-requests so that the dashboard works over
// plain HTTP on any host (SPEC §3.4).
const PageCSP = "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';" +
	"frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';" +
	"script-src-attr 'none';style-src 'self' 'unsafe-inline';" +
	"connect-src 'self' ws: wss:"

// Setter writes the header set. Its values are built once and shared by
// every response (net/http only reads them), which spares a dozen
// allocations per request.
type Setter struct {
	common          [][2]string
	apiCSP, pageCSP []string
	values          map[string][]string
}

// New prepares the header set.
func New() *Setter {
	s := &Setter{apiCSP: []string{CSP}, pageCSP: []string{PageCSP}, values: map[string][]string{}}
	// Keys in net/http's canonical form, so that they can be assigned directly.
	for _, kv := range [][2]string{
		{"Cross-Origin-Opener-Policy", "same-origin"},
		{"Cross-Origin-Resource-Policy", "same-origin"},
		{"Origin-Agent-Cluster", "?1"},
		{"Referrer-Policy", "no-referrer"},
		{"Strict-Transport-Security", "max-age=31536000; includeSubDomains"},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Dns-Prefetch-Control", "off"},
		{"X-Download-Options", "noopen"},
		{"X-Frame-Options", "SAMEORIGIN"},
		{"X-Permitted-Cross-Domain-Policies", "none"},
		{"X-Xss-Protection", "0"},
	} {
		s.common = append(s.common, kv)
		s.values[kv[0]] = []string{kv[1]}
	}
	return s
}

// Set writes the twelve helmet headers; page selects the dashboard's CSP.
func (s *Setter) Set(h http.Header, page bool) {
	if page {
		h["Content-Security-Policy"] = s.pageCSP
	} else {
		h["Content-Security-Policy"] = s.apiCSP
	}
	for _, kv := range s.common {
		h[kv[0]] = s.values[kv[0]]
	}
	delete(h, "X-Powered-By")
}

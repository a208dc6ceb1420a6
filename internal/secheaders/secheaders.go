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

// Set writes the twelve helmet headers; page selects the dashboard's CSP.
func Set(h http.Header, page bool) {
	if page {
		h.Set("Content-Security-Policy", PageCSP)
	} else {
		h.Set("Content-Security-Policy", CSP)
	}
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Origin-Agent-Cluster", "?1")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Dns-Prefetch-Control", "off")
	h.Set("X-Download-Options", "noopen")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Permitted-Cross-Domain-Policies", "none")
	h.Set("X-Xss-Protection", "0")
	h.Del("X-Powered-By")
}

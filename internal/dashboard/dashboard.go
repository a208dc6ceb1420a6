// Package dashboard holds the web page of SPEC §11: plain HTML, CSS and
// JavaScript modules embedded in the binary. It knows nothing of the server;
// httpapi routes GET / and /dashboard/* to a Site.
package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// IndexName is the page itself; every other file is an asset under /dashboard/.
const IndexName = "index.html"

// FS returns the embedded files, rooted at the page's directory.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is a constant, valid path
	}
	return sub
}

// Asset is one embedded file, ready to send.
type Asset struct {
	Name        string
	ContentType string
	ETag        string // strong, from the content: stays valid across restarts of the same build
	Body        []byte
}

// Site serves the embedded files. It is immutable once built.
type Site struct {
	assets map[string]Asset
}

// New reads every embedded file once and computes its ETag.
func New() (*Site, error) {
	s := &Site{assets: map[string]Asset{}}
	root := FS()
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		s.assets[name] = Asset{
			Name:        name,
			ContentType: contentType(name),
			ETag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
			Body:        body,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Lookup finds an asset by its slash-separated name relative to the page's
// directory ("app.css", "js/main.js"). Names that are not clean (dot
// segments, empty segments, a leading slash) are not found.
func (s *Site) Lookup(name string) (Asset, bool) {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.Contains(name, "\\") {
		return Asset{}, false
	}
	a, ok := s.assets[name]
	return a, ok
}

// Names lists every asset name (for tests and checks).
func (s *Site) Names() []string {
	out := make([]string, 0, len(s.assets))
	for n := range s.assets {
		out = append(out, n)
	}
	return out
}

// Serve writes a as the answer to r: revalidated on every use (no-cache with
// a strong ETag, so a new build is picked up at once and an unchanged file
// costs a 304). HEAD gets the headers only.
func (a Asset) Serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.ETag)
	if etagMatches(r.Header.Get("If-None-Match"), a.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.Body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.Body)
	}
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json":
		return "application/json; charset=utf-8"
	}
	return "application/octet-stream"
}

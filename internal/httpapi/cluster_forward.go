package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
)

// Acting on a room homed on another instance (SPEC §12): GET
// /api/rooms/:room and the RoomService's room-scoped methods are forwarded
// to the room's home, which answers them; the answer is passed back as it
// came. The forwarded request carries relayHeader, so the home never
// forwards it again.

const (
	forwardTimeout = 10 * time.Second
	forwardCap     = 4 << 20 // cap on a forwarded answer
)

// forwardToHome sends the request (with body, already read) to the home
// instance at base and writes its answer. It returns false, having written
// nothing, when the home could not be asked; the caller then answers from
// what it knows.
func (a *api) forwardToHome(c *gin.Context, base string, body []byte) bool {
	target, err := url.Parse(base)
	if err != nil || target.Host == "" || (target.Scheme != "http" && target.Scheme != "https") {
		return false
	}
	r := c.Request
	target.Path, target.RawQuery = r.URL.Path, r.URL.RawQuery
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return false
	}
	// What the home needs to answer as it would answer the client.
	for _, k := range []string{"Authorization", "Content-Type", "Accept"} {
		if v := r.Header.Get(k); v != "" {
			out.Header.Set(k, v)
		}
	}
	out.Header.Set(relayHeader, a.Cluster.InstanceID())
	out.Header.Set("X-Forwarded-For", c.ClientIP())
	res, err := a.forwarder.Do(out)
	if err != nil {
		a.Logger.Warn("cluster: the room's home instance did not answer", "home", target.Host, "route", r.URL.Path, "err", err)
		return false
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, forwardCap))
	if err != nil {
		a.Logger.Warn("cluster: the room's home instance broke off its answer", "home", target.Host, "route", r.URL.Path, "err", err)
		return false
	}
	c.Data(res.StatusCode, res.Header.Get("Content-Type"), data)
	c.Abort()
	return true
}

// remoteHome returns the URL of the other instance that is room's home, ""
// when the room is served here: no cluster, a request already forwarded
// once, a room this instance has, or one nobody else holds.
func (a *api) remoteHome(c *gin.Context, room string, local bool) string {
	if a.Cluster == nil || local || room == "" || c.Request.Header.Get(relayHeader) != "" {
		return ""
	}
	return a.Cluster.HomeURL(c.Request.Context(), room)
}

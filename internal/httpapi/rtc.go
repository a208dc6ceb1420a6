package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// endpoint is what signal serves on a WebSocket path (*signal.Endpoint for
// /rtc, *signal.LiveKit for the validate calls, *signal.AgentEndpoint for
// /agent): it owns every check before the upgrade and the session after.
type endpoint interface {
	Serve(w http.ResponseWriter, r *http.Request, ip string) *signal.Refusal
}

// mount serves e on a route; a refusal is answered here, in the dialect's
// style.
func mount(e endpoint) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ref := e.Serve(c.Writer, c.Request, c.ClientIP()); ref != nil {
			renderRefusal(c, ref)
			return
		}
		c.Abort() // the socket is done, or the handshake refusal was written
	}
}

// renderRefusal answers an /rtc refusal: a JSON error through the one code
// table (errors.go), or the LiveKit dialect's plain text.
func renderRefusal(c *gin.Context, ref *signal.Refusal) {
	if ref.Code != "" {
		abortError(c, ref.Code, ref.Body)
		return
	}
	if ref.ContentType != "" { // another instance's answer, passed back as is
		c.Header("Content-Type", ref.ContentType)
		c.AbortWithStatus(ref.Status)
		_, _ = c.Writer.WriteString(ref.Body)
		return
	}
	c.Header("Content-Type", "text/plain; charset=utf-8")
	c.AbortWithStatus(ref.Status)
	if ref.Body != "" {
		_, _ = c.Writer.WriteString(ref.Body)
	}
}

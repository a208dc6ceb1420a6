package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/signal"
)

// rtcRoute mounts GET /rtc and /rtc/v1: the endpoint tells the dialects
// apart and owns every check before the upgrade; a refusal is answered here,
// in the chosen dialect's style.
func rtcRoute(e *signal.Endpoint) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ref := e.Serve(c.Writer, c.Request, c.ClientIP()); ref != nil {
			renderRefusal(c, ref)
			return
		}
		c.Abort() // the socket is done, or the handshake refusal was written
	}
}

// agentRoute mounts GET /agent, where LiveKit Agents workers connect.
func agentRoute(e *signal.AgentEndpoint) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ref := e.Serve(c.Writer, c.Request, c.ClientIP()); ref != nil {
			renderRefusal(c, ref)
			return
		}
		c.Abort()
	}
}

// validateRoute mounts the LiveKit SDKs' validate calls, answered as the
// upgrade would be.
func validateRoute(lk *signal.LiveKit) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ref := lk.Serve(c.Writer, c.Request, c.ClientIP()); ref != nil {
			renderRefusal(c, ref)
			return
		}
		c.Abort()
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

package httpapi

import (
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/auth"
)

// CallerChecker verifies a caller's own bearer token of production mode
// (*auth.CallerVerifier: HS256 with JWT_SECRET, exp required).
type CallerChecker interface {
	Verify(token string) error
}

// callerAuth requires, in production mode, "Authorization: Bearer <JWT>"
// signed with JWT_SECRET (SPEC §5.4) on the routes that the table of SPEC
// §3.1 marks; in development it lets everything through.
//
// It sits right after origin/CORS and before the body cap: preflights (which
// carry no Authorization) are answered by CORS first, and an unauthenticated
// caller gets 401 without its body being read and without using rate-limit
// quota. The answer says why, never repeating the header or the token.
func (a *api) callerAuth() gin.HandlerFunc {
	if a.Config == nil || !a.Config.Production() {
		return func(c *gin.Context) { c.Next() }
	}
	check := a.callerCheck()
	return func(c *gin.Context) {
		err := check(c)
		if err == nil {
			c.Next()
			return
		}
		a.Logger.Warn("caller refused", "ip", c.ClientIP(), "route", c.FullPath(), "code", string(auth.CodeOf(err)))
		reason := "caller token refused"
		var ae *auth.Error
		if errors.As(err, &ae) {
			reason = "Caller bearer refused: " + ae.Error()
		}
		c.Header("WWW-Authenticate", `Bearer realm="livekit-mock"`)
		abortError(c, codeUnauthenticated, reason)
	}
}

// callerCheck verifies the request's caller bearer.
func (a *api) callerCheck() func(*gin.Context) error {
	check := a.Callers
	return func(c *gin.Context) error {
		tok, err := auth.CheckBearer(c.GetHeader("Authorization"))
		if err == nil {
			err = check.Verify(tok)
		}
		return err
	}
}

// callerKnown tells, on an open route, whether the caller may see what
// only a known caller sees (participant sids): in production, whether it
// sent a valid caller bearer; nil in development, where everyone may.
func (a *api) callerKnown() func(*gin.Context) bool {
	if a.Config == nil || !a.Config.Production() {
		return nil
	}
	check := a.callerCheck()
	return func(c *gin.Context) bool { return check(c) == nil }
}

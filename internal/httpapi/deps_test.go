package httpapi

import (
	"github.com/livekit-mock/livekit-mock/internal/auth"
	"github.com/livekit-mock/livekit-mock/internal/metrics"
	"github.com/livekit-mock/livekit-mock/internal/tokenservice"
)

// completeDeps gives a test's Deps the parts the builder makes for the
// binary and that the test does not care to choose: the token service, the
// figures and the caller verifier, built from its configuration.
func completeDeps(d Deps) Deps {
	if d.TokenService == nil {
		d.TokenService = tokenservice.New(tokenservice.Options{
			Minter: d.Issuer, Verifier: d.Verifier, Names: d.Names, WSURL: d.Config.WSURL,
			DefaultTTL: hours(d.Config.JWTExpiryHours), NewIdentity: d.IDs.UUID,
		})
	}
	if d.Figures == nil {
		o := metrics.Options{Now: d.Now, Version: Version, Mode: d.Config.Environment}
		if d.Rooms != nil {
			o.Rooms = d.Rooms.Counts
		} else if d.Registry != nil {
			o.Rooms = d.Registry.Counts
		}
		if d.Conns != nil {
			o.Connections = d.Conns.Connections
		} else if d.Hub != nil {
			o.Connections = d.Hub.Connections
		}
		d.Figures = metrics.New(o)
	}
	if d.Callers == nil {
		d.Callers = auth.NewCallerVerifier(d.Config.JWTSecret, d.Now)
	}
	return d
}

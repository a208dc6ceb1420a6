package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// The signalling relay of SPEC §12: a WebSocket upgrade for a room homed on
// another instance is passed there, bytes both ways, so that everyone in a
// room meets on one instance. The room is read from the upgrade's verified
// token (the LiveKit dialect always has one; the JSON dialect when it sends
// ?access_token=). A JSON-dialect client that names its room only in
// join_room is relayed then, by the session itself (signal's json_relay.go,
// through jsonHomes below). Media never passes through: the home instance's
// ICE candidates carry its own NODE_IP and UDP port.

const (
	// relayHeader marks an upgrade already relayed once; the home serves
	// it whatever the directory says, so a relay never loops.
	relayHeader = signal.RelayHeader
	// relayHandshake bounds dialling the home and its upgrade answer.
	relayHandshake = 10 * time.Second
	// relayWriteWait bounds each write of relayed bytes to a peer.
	relayWriteWait = 10 * time.Second
	relayBuffer    = 32 << 10
	relayRefusal   = 64 << 10 // cap on a refusal body passed back
)

// tokenRoom returns the room of the upgrade's token, "" without a valid
// token naming a room (the local handler then answers as it always does).
func (a *api) tokenRoom(r *http.Request) string {
	if a.Verifier == nil {
		return ""
	}
	tok := r.URL.Query().Get("access_token")
	if tok == "" && signal.IsLiveKitRequest(r) {
		tok, _ = pbwire.ExtractToken(r.Header, r.URL.Query())
	}
	if tok == "" {
		return ""
	}
	claims, err := a.Verifier.Verify(tok)
	if err != nil || claims.Video == nil {
		return ""
	}
	return claims.Video.Room
}

// clusterRelay wraps the /rtc handlers: an upgrade, or a LiveKit validate
// call (which answers as the upgrade would, so must be asked of the same
// instance), whose room is homed on another live instance is relayed to
// it; everything else goes to next.
func (a *api) clusterRelay(next gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		upgrade := signal.IsWebSocketUpgrade(r)
		if r.Header.Get(relayHeader) != "" || (!upgrade && !strings.HasSuffix(r.URL.Path, "/validate")) {
			next(c)
			return
		}
		room := a.tokenRoom(r)
		if room == "" {
			next(c)
			return
		}
		home := a.Cluster.Route(r.Context(), room)
		target, err := url.Parse(home)
		if home == "" || err != nil || target.Host == "" || (target.Scheme != "http" && target.Scheme != "https") {
			next(c)
			return
		}
		// The relayed connection holds a slot here as a session would: the
		// same caps, and shutdown refuses new ones.
		if a.Hub != nil && upgrade {
			adm, err := a.Hub.Admit(c.ClientIP())
			if err != nil {
				a.Logger.Warn("connection refused", "ip", c.ClientIP(), "reason", err.Error())
				refuseAdmission(c, err)
				return
			}
			defer adm.Release()
		}
		a.relay(c, target, room)
	}
}

// dialHome opens a connection to the home instance.
func dialHome(ctx context.Context, target *url.URL) (net.Conn, error) {
	host := target.Host
	if target.Port() == "" {
		port := "80"
		if target.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(target.Hostname(), port)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil || target.Scheme != "https" {
		return conn, err
	}
	tc := tls.Client(conn, &tls.Config{ServerName: target.Hostname(), NextProtos: []string{"http/1.1"}})
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

// relay passes the upgrade to target and, once it is accepted, copies bytes
// both ways until either side closes or shutdown begins.
func (a *api) relay(c *gin.Context, target *url.URL, room string) {
	r := c.Request
	log := a.Logger.With("ip", c.ClientIP(), "room", room, "home", target.Host)
	ctx, cancel := context.WithTimeout(r.Context(), relayHandshake)
	defer cancel()
	up, err := dialHome(ctx, target)
	if err != nil {
		log.Warn("relay: home instance unreachable", "err", err)
		abortError(c, codeUnavailable, "The room's home instance is unreachable")
		return
	}
	defer up.Close()

	out := r.Clone(ctx)
	out.URL.Scheme, out.URL.Host, out.Host = target.Scheme, target.Host, target.Host
	out.RequestURI = ""
	out.Header.Set(relayHeader, a.Cluster.InstanceID())
	// The home believes it only from TRUSTED_PROXIES (docs/clusters.md).
	out.Header.Set("X-Forwarded-For", c.ClientIP())
	_ = up.SetDeadline(time.Now().Add(relayHandshake))
	if err := out.Write(up); err != nil {
		log.Warn("relay: cannot send the upgrade", "err", err)
		abortError(c, codeUnavailable, "The room's home instance is unreachable")
		return
	}
	upr := bufio.NewReaderSize(up, relayBuffer)
	resp, err := http.ReadResponse(upr, out)
	if err != nil {
		log.Warn("relay: no answer to the upgrade", "err", err)
		abortError(c, codeUnavailable, "The room's home instance is unreachable")
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// The home refused (bad token, origin, caps), or this was a validate
		// call: its answer is the answer.
		defer resp.Body.Close()
		h := c.Writer.Header()
		for k, v := range resp.Header {
			if k != "Content-Length" && k != "Connection" {
				h[k] = v
			}
		}
		c.Status(resp.StatusCode)
		_, _ = io.Copy(c.Writer, io.LimitReader(resp.Body, relayRefusal))
		c.Abort()
		return
	}
	_ = up.SetDeadline(time.Time{})

	client, cbuf, err := http.NewResponseController(c.Writer).Hijack()
	if err != nil {
		log.Error("relay: cannot take over the connection", "err", err)
		abortError(c, codeInternal, msgInternal)
		return
	}
	c.Abort()
	defer client.Close()
	_ = client.SetDeadline(time.Time{})
	var head bytes.Buffer
	head.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	_ = client.SetWriteDeadline(time.Now().Add(relayWriteWait))
	if _, err := client.Write(head.Bytes()); err != nil {
		return
	}
	log.Info("rtc relayed to the room's home instance")

	done := make(chan struct{}, 2)
	var wg sync.WaitGroup
	wg.Go(func() { pump(up, cbuf.Reader); done <- struct{}{} })
	wg.Go(func() { pump(client, upr); done <- struct{}{} })
	select {
	case <-done:
	case <-a.Cluster.Relaying():
	}
	// Closing both ends stops both pumps; the client reconnects (through
	// any instance) as after a dropped connection.
	client.Close()
	up.Close()
	wg.Wait()
	log.Info("rtc relay closed")
}

// pump copies src to dst until either fails; each write has a deadline, so
// a peer that stops reading cannot hold the relay forever.
func pump(dst net.Conn, src io.Reader) {
	buf := make([]byte, relayBuffer)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			_ = dst.SetWriteDeadline(time.Now().Add(relayWriteWait))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

package signal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal/jsonwire"
)

// Several instances (SPEC §12): a JSON-dialect client without a token names
// its room only in join_room, after the upgrade. When that room is homed on
// another instance, the session dials the home's /rtc, sends it the
// client's join_room and passes frames both ways from then on. This
// session keeps its limits, deadlines and outbox; the home runs the room.

// Homes says where a room named in join_room is served. Nil: everywhere
// is here (no REDIS_URL).
type Homes interface {
	// Remote claims room for this instance unless another holds it; it
	// returns the home's base URL (http or https) and true when the session
	// must be relayed there.
	Remote(ctx context.Context, room string) (homeURL string, remote bool)
	// RelayHeader is the header of the upgrade sent to the home for a
	// client at ip: it marks the relay (never relayed twice) and names
	// the client.
	RelayHeader(ip string) http.Header
}

const (
	relayDialWait  = 10 * time.Second
	relayReadLimit = 16 << 20
	// reasonHomeLost closes a relayed session whose home went away
	// without a close frame.
	reasonHomeLost = "home instance lost"
)

// jsonRelay is one session's link to the room's home instance.
type jsonRelay struct {
	s    *Session
	conn *websocket.Conn
	done chan struct{} // closed when the home reader returns
}

// homeWSURL turns a home's base URL into its /rtc WebSocket URL.
func homeWSURL(home string) (string, error) {
	u, err := url.Parse(home)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", errors.New("home URL is not http or https")
	}
	if u.Host == "" {
		return "", errors.New("home URL has no host")
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/rtc"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// relayTo dials the home and sends it the client's join_room frame; nil
// and an error message for the client when that fails.
func (h *jsonHandler) relayTo(home string, msgType int, join []byte) (*jsonRelay, *jsonwire.Error) {
	s := h.s
	unreachable := jsonwire.Errorf(jsonwire.CodeInternal, "The room's home instance is unreachable")
	target, err := homeWSURL(home)
	if err != nil {
		s.hub.log.Warn("json relay: bad home URL", "home", home, "err", err)
		return nil, unreachable
	}
	// Dialling must not outlive the session: shutdown ends it.
	ctx, cancel := context.WithTimeout(s.Context(), relayDialWait)
	var watch sync.WaitGroup
	defer watch.Wait()
	defer cancel()
	watch.Go(func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	})
	d := websocket.Dialer{HandshakeTimeout: relayDialWait, ReadBufferSize: 1024, WriteBufferPool: &s.hub.writeBufs}
	conn, resp, err := d.DialContext(ctx, target, h.o.Homes.RelayHeader(s.ip))
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			s.hub.log.Warn("json relay: the home refused the upgrade", "home", home, "status", resp.StatusCode)
			return nil, jsonwire.Errorf(jsonwire.CodeInternal, "The room's home instance refused the connection (%d)", resp.StatusCode)
		}
		s.hub.log.Warn("json relay: home unreachable", "home", home, "err", err)
		return nil, unreachable
	}
	// The home is one of ours; the cap only guards against a broken one.
	conn.SetReadLimit(relayReadLimit)
	_ = conn.SetWriteDeadline(time.Now().Add(s.hub.opts.WriteWait))
	if err := conn.WriteMessage(msgType, join); err != nil {
		_ = conn.Close()
		return nil, unreachable
	}
	r := &jsonRelay{s: s, conn: conn, done: make(chan struct{})}
	go r.fromHome()
	s.hub.log.Info("rtc relayed to the room's home instance at join_room", "ip", s.ip, "home", home)
	return r, nil
}

// fromHome queues the home's frames for the client, dropping the home's
// welcome (the client had ours), and ends the session as the home ends it.
func (r *jsonRelay) fromHome() {
	defer close(r.done)
	s, conn := r.s, r.conn
	// The home pings every 9/10 of its pong wait; a home that falls
	// silent for longer is gone.
	wait := s.hub.opts.PongWait + s.hub.opts.WriteWait
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(s.hub.opts.WriteWait))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	first := true
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			switch {
			case errors.As(err, &ce) && ce.Code == websocket.CloseNoStatusReceived:
				s.end(cause{code: CloseNormal, flush: true, leave: rooms.ReasonClosed})
			case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure && ce.Code != websocket.CloseTLSHandshake:
				// The home's notice is queued already; its close code follows.
				s.end(cause{code: ce.Code, text: ce.Text, flush: true, leave: rooms.ReasonClosed})
			default:
				s.end(cause{code: CloseGoingAway, text: reasonHomeLost, flush: true, leave: rooms.ReasonClosed})
			}
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		if first {
			first = false
			if isWelcome(data) {
				continue
			}
		}
		if !s.Send(mt, data) {
			return // slow consumer: the session is ending
		}
	}
}

func isWelcome(data []byte) bool {
	var m struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &m) == nil && m.Type == "welcome"
}

// forward passes one client frame to the home (on the reader goroutine,
// the only writer of data frames to the home).
func (r *jsonRelay) forward(msgType int, data []byte) {
	_ = r.conn.SetWriteDeadline(time.Now().Add(r.s.hub.opts.WriteWait))
	if err := r.conn.WriteMessage(msgType, data); err != nil {
		r.s.end(cause{code: CloseGoingAway, text: reasonHomeLost, leave: rooms.ReasonClosed})
	}
}

// close ends the home's side as the client's side ended: the same close
// code, or a dropped connection when the client's dropped. It waits for
// the home reader.
func (r *jsonRelay) close() {
	s := r.s
	code := s.why.code
	if code == 0 {
		code = int(s.peerCode.Load())
	}
	if code != 0 && code != websocket.CloseNoStatusReceived && code != websocket.CloseAbnormalClosure {
		msg := websocket.FormatCloseMessage(code, s.why.text)
		if r.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(s.hub.opts.WriteWait)) == nil {
			// Give the home a moment to answer, so it reads our close
			// frame before the connection drops.
			t := time.NewTimer(s.hub.opts.CloseGrace)
			select {
			case <-r.done:
			case <-t.C:
			}
			t.Stop()
		}
	}
	_ = r.conn.Close()
	<-r.done
}

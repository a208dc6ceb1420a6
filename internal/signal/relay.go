package signal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/signal/jsonwire"
)

// The one relay of signalling between instances (several instances): a
// session whose room another instance holds is served there, frame by frame,
// through a homeLink. It is made in two ways: at the upgrade, when the
// token names a room homed elsewhere (relayUpgrade: the home is dialled
// first, so its refusal is the answer, then the client is upgraded here);
// or at join_room, for a JSON client without a token that names its room
// only then (the session dials the home and sends it the join). Either way
// this instance keeps the client's socket with its limits, deadlines, pings
// and outbox on the hub's goroutines; the home runs the room. Media never
// passes through: the home's ICE candidates carry its own address.

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

// homeLink is one session's link to the room's home instance.
type homeLink struct {
	s    *Session
	conn *websocket.Conn
	done chan struct{} // closed when the home reader returns
	// dropWelcome drops the home's first frame when it is a JSON welcome
	// (the client had ours before it joined).
	dropWelcome bool
}

// homeWSURL turns a home's base URL into the URL of path on it, with query.
func homeWSURL(home, path, query string) (string, error) {
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
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery, u.Fragment = query, ""
	return u.String(), nil
}

// dialHome opens a WebSocket to the home with header (the relay mark, the
// client's address and token); resp is the home's refusal, if it refused.
func dialHome(ctx context.Context, target string, header http.Header, bufs *sync.Pool) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: relayDialWait, ReadBufferSize: 1024, WriteBufferPool: bufs}
	conn, resp, err := d.DialContext(ctx, target, header)
	if err == nil {
		// The home is one of ours; the cap only guards against a broken one.
		conn.SetReadLimit(relayReadLimit)
	}
	return conn, resp, err
}

// relayTo dials the home and sends it the client's join_room frame; nil
// and an error message for the client when that fails.
func (h *jsonHandler) relayTo(home string, msgType int, join []byte) (*homeLink, *jsonwire.Error) {
	s := h.s
	unreachable := jsonwire.Errorf(jsonwire.CodeInternal, "The room's home instance is unreachable")
	target, err := homeWSURL(home, "/rtc", "")
	if err != nil {
		s.hub.log.Warn("relay: bad home URL", "home", home, "err", err)
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
	conn, resp, err := dialHome(ctx, target, h.o.Homes.RelayHeader(s.ip), &s.hub.writeBufs)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			s.hub.log.Warn("relay: the home refused the upgrade", "home", home, "status", resp.StatusCode)
			return nil, jsonwire.Errorf(jsonwire.CodeInternal, "The room's home instance refused the connection (%d)", resp.StatusCode)
		}
		s.hub.log.Warn("relay: home unreachable", "home", home, "err", err)
		return nil, unreachable
	}
	_ = conn.SetWriteDeadline(time.Now().Add(s.hub.opts.WriteWait))
	if err := conn.WriteMessage(msgType, join); err != nil {
		_ = conn.Close()
		return nil, unreachable
	}
	l := newHomeLink(s, conn, true)
	s.hub.log.Info("rtc relayed to the room's home instance at join_room", "ip", s.ip, "home", home)
	return l, nil
}

// newHomeLink starts passing the home's frames to s.
func newHomeLink(s *Session, conn *websocket.Conn, dropWelcome bool) *homeLink {
	l := &homeLink{s: s, conn: conn, done: make(chan struct{}), dropWelcome: dropWelcome}
	go l.fromHome()
	return l
}

// fromHome queues the home's frames for the client (without the home's
// welcome when dropWelcome), and ends the session as the home ends it.
func (r *homeLink) fromHome() {
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
			if r.dropWelcome && isWelcome(data) {
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
func (r *homeLink) forward(msgType int, data []byte) {
	_ = r.conn.SetWriteDeadline(time.Now().Add(r.s.hub.opts.WriteWait))
	if err := r.conn.WriteMessage(msgType, data); err != nil {
		r.s.end(cause{code: CloseGoingAway, text: reasonHomeLost, leave: rooms.ReasonClosed})
	}
}

// close ends the home's side as the client's side ended: the same close
// code, or a dropped connection when the client's dropped. It waits for
// the home reader.
func (r *homeLink) close() {
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

// relayUpgrade serves an upgrade whose room is homed at home: it dials the
// home with the client's path, query and Authorization (its refusal, if it
// refuses, is the answer), then upgrades the client here and passes frames
// both ways. adm is the client's admission, which the relayed session holds
// like any other; unreachable is the dialect's answer when the home does not
// answer.
func relayUpgrade(hub *Hub, homes Homes, w http.ResponseWriter, r *http.Request, ip, home string, adm *Admission,
	dialect string, limits Limits, unreachable *Refusal) *Refusal {
	log := hub.log.With("ip", ip, "home", home)
	target, err := homeWSURL(home, r.URL.Path, r.URL.RawQuery)
	if err != nil {
		adm.Release()
		log.Warn("relay: bad home URL", "err", err)
		return unreachable
	}
	header := homes.RelayHeader(ip)
	if a := r.Header.Get("Authorization"); a != "" {
		header.Set("Authorization", a)
	}
	ctx, cancel := context.WithTimeout(r.Context(), relayDialWait)
	defer cancel()
	conn, resp, err := dialHome(ctx, target, header, &hub.writeBufs)
	if err != nil {
		adm.Release()
		if resp == nil {
			log.Warn("relay: home unreachable", "err", err)
			return unreachable
		}
		// The home refused (bad token, origin, a full room, caps): its
		// answer is the answer.
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, relayRefusalCap))
		return &Refusal{Status: resp.StatusCode, Body: string(body), ContentType: resp.Header.Get("Content-Type")}
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	d := &relayDialect{name: dialect, limits: limits, conn: conn}
	if err := hub.Serve(w, r, Request{Admission: adm, Dialect: d}); err != nil {
		_ = conn.Close()
		if !IsHandshakeError(err) {
			return admissionRefusal(err, dialect == rooms.DialectLiveKit)
		}
	}
	return nil
}

// relayRefusalCap bounds a home's refusal passed back to the client.
const relayRefusalCap = 64 << 10

// relayDialect is a session relayed to its room's home as it was upgraded:
// every frame goes to the home, every frame of the home to the client.
type relayDialect struct {
	name   string
	limits Limits
	conn   *websocket.Conn
}

func (d *relayDialect) Name() string   { return d.name }
func (d *relayDialect) Limits() Limits { return d.limits }
func (d *relayDialect) RefuseHandshake(w http.ResponseWriter, status int, msg string) {
	_ = d.conn.Close()
	if d.name == rooms.DialectLiveKit {
		writePlain(w, status, msg)
		return
	}
	refuseJSON(w, status, msg)
}
func (d *relayDialect) NewHandler(s *Session) Handler { return &relayHandler{s: s, conn: d.conn} }

type relayHandler struct {
	s    *Session
	conn *websocket.Conn
	link *homeLink
}

func (h *relayHandler) Open() {
	h.link = newHomeLink(h.s, h.conn, false)
	h.s.hub.log.Info("rtc relayed to the room's home instance", "ip", h.s.ip)
}
func (h *relayHandler) Message(mt int, data []byte) { h.link.forward(mt, data) }

// Notice sends nothing of its own: the home's notices reach the client.
func (h *relayHandler) Notice(string) (int, []byte, bool) { return 0, nil, false }
func (h *relayHandler) Closed(rooms.Reason) {
	if h.link != nil {
		h.link.close()
	} else {
		_ = h.conn.Close()
	}
}

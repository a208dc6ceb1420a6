// Command benchbase is the baseline the benchmarks compare livekit-mock with:
// a bare net/http server doing the least work a correct endpoint must.
//
//   - POST /token decodes a JSON body {"roomName","participantName",
//     "participantIdentity"?} (at most 1 KiB) and answers {"token"} with an
//     HS256 JWT signed by hand (crypto/hmac, no JWT library).
//   - GET /ws?room=R is a bare gorilla/websocket broadcast hub: on connect it
//     sends {"type":"joined"}, and every text message is sent as is to the
//     others in room R.
//   - GET /health answers 200.
//
// It listens on 127.0.0.1 only and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	port := flag.Int("port", 7890, "port on 127.0.0.1 (0: any free port)")
	key := flag.String("api-key", "devkey", "API key (iss)")
	secret := flag.String("api-secret", "secret", "API secret")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		log.Fatal(err)
	}
	h := newHub()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", tokenHandler(*key, []byte(*secret)))
	mux.HandleFunc("GET /ws", h.serveWS)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	srv.RegisterOnShutdown(h.closeAll)
	fmt.Fprintf(os.Stderr, "benchbase listening addr=%s pid=%d\n", ln.Addr(), os.Getpid())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Fatal(err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}

type tokenRequest struct {
	RoomName            string `json:"roomName"`
	ParticipantName     string `json:"participantName"`
	ParticipantIdentity string `json:"participantIdentity"`
}

type videoGrant struct {
	Room     string `json:"room"`
	RoomJoin bool   `json:"roomJoin"`
}

type claims struct {
	Iss   string     `json:"iss"`
	Sub   string     `json:"sub"`
	Name  string     `json:"name"`
	Nbf   int64      `json:"nbf"`
	Exp   int64      `json:"exp"`
	Iat   int64      `json:"iat"`
	Video videoGrant `json:"video"`
}

// jwtHeader is base64url of {"alg":"HS256","typ":"JWT"}.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

func tokenHandler(key string, secret []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req tokenRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&req); err != nil {
			http.Error(w, `{"error":"Invalid JSON body"}`, http.StatusBadRequest)
			return
		}
		if req.RoomName == "" || req.ParticipantName == "" {
			http.Error(w, `{"error":"Room name and participant name are required"}`, http.StatusBadRequest)
			return
		}
		id := req.ParticipantIdentity
		if id == "" {
			id = req.ParticipantName
		}
		now := time.Now().Unix()
		tok, err := sign(secret, claims{Iss: key, Sub: id, Name: req.ParticipantName, Nbf: now, Iat: now,
			Exp: now + 3600, Video: videoGrant{Room: req.RoomName, RoomJoin: true}})
		if err != nil {
			http.Error(w, `{"error":"Internal server error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	}
}

// sign builds header.payload.signature with HMAC-SHA256.
func sign(secret []byte, c claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	unsigned := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// hub is a room → clients map behind one mutex.
type hub struct {
	upgrader websocket.Upgrader
	mu       sync.Mutex
	rooms    map[string]map[*client]struct{}
}

type client struct {
	conn *websocket.Conn
	send chan []byte
	once sync.Once
}

func (c *client) close() { c.once.Do(func() { close(c.send) }) }

func newHub() *hub {
	return &hub{
		upgrader: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024,
			CheckOrigin: func(*http.Request) bool { return true }},
		rooms: map[string]map[*client]struct{}{},
	}
}

func (h *hub) serveWS(w http.ResponseWriter, r *http.Request) {
	room := r.URL.Query().Get("room")
	if room == "" {
		http.Error(w, "room is required", http.StatusBadRequest)
		return
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(64 << 10)
	c := &client{conn: conn, send: make(chan []byte, 256)}
	c.send <- []byte(`{"type":"joined"}`)
	h.mu.Lock()
	if h.rooms[room] == nil {
		h.rooms[room] = map[*client]struct{}{}
	}
	h.rooms[room][c] = struct{}{}
	h.mu.Unlock()

	go c.writePump()
	defer func() {
		h.mu.Lock()
		delete(h.rooms[room], c)
		if len(h.rooms[room]) == 0 {
			delete(h.rooms, room)
		}
		h.mu.Unlock()
		c.close()
	}()
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		h.mu.Lock()
		for other := range h.rooms[room] {
			if other == c {
				continue
			}
			select {
			case other.send <- msg:
			default: // slow consumer: drop it rather than block the room
				delete(h.rooms[room], other)
				other.close()
			}
		}
		h.mu.Unlock()
	}
}

func (c *client) writePump() {
	defer c.conn.Close()
	for msg := range c.send {
		_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			// Close first so the reader ends and closes send, then drain.
			_ = c.conn.Close()
			for range c.send {
			}
			return
		}
	}
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
}

// closeAll ends every connection at shutdown.
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for room, cs := range h.rooms {
		for c := range cs {
			c.close()
		}
		delete(h.rooms, room)
	}
}

// Package rtc runs the server side of each LiveKit participant's WebRTC
// connection on pion: it answers the client's publisher PeerConnection
// (subscriber_primary=false, identical on /rtc/v1 and /rtc), trickles
// candidates both ways, and carries the client's `_reliable` and `_lossy`
// data channels. One Engine per process owns one UDP port that every Peer
// shares. pion and github.com/livekit/protocol are used here and in pbwire
// only; callers see plain values.
package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Options configure the Engine.
type Options struct {
	// UDPPort is the one port every PeerConnection uses (LiveKit's
	// convention is 7882); 0 picks a free one (tests), see Engine.Port.
	UDPPort int
	// NodeIP is the address clients are told to send media to; default
	// 127.0.0.1.
	NodeIP string
	// BindIP is where the UDP port is opened; default NodeIP. When it
	// differs from NodeIP (say 0.0.0.0 behind a 1:1 NAT), host candidates
	// are rewritten to NodeIP.
	BindIP string
	// Logger receives connection-level warnings; nil discards them.
	Logger *slog.Logger
	// DataBacklog bounds the data waiting for one participant's data
	// channel, in bytes (each message counts 64 bytes more than its
	// payload): up to a quarter of it (at most 1 MiB) in SCTP's send
	// buffer, the rest queued in front of it. Reliable data beyond it makes
	// SendData return ErrSlowConsumer. Zero: DefaultDataBacklog.
	DataBacklog int
	// InboundDataDropped is told of each message a client sent that was
	// dropped because the Peer's callbacks had fallen 8192 events behind
	// (label: LabelReliable or LabelLossy). nil: only logged. It must not
	// block.
	InboundDataDropped func(label string)
}

// DefaultDataBacklog is Options.DataBacklog's default.
const DefaultDataBacklog = 4 << 20

// Engine builds Peers that share one pion API and one UDP mux.
type Engine struct {
	api  *webrtc.API
	conn *net.UDPConn
	mux  ice.UDPMux
	log  *slog.Logger
	fwd  *Forwarder
	// Data bounds of every Peer: SCTP send buffer (high water) and queue.
	dataHigh, dataBacklog int
	inDropped             func(label string)
	// codecs is what the MediaEngine was given; offers are trimmed to it.
	codecs []codec

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// NewEngine opens the UDP port and prepares the pion API.
func NewEngine(o Options) (*Engine, error) {
	if o.NodeIP == "" {
		o.NodeIP = "127.0.0.1"
	}
	if o.BindIP == "" {
		o.BindIP = o.NodeIP
	}
	nodeIP, bindIP := net.ParseIP(o.NodeIP), net.ParseIP(o.BindIP)
	if nodeIP == nil || nodeIP.To4() == nil {
		return nil, fmt.Errorf("rtc: node IP %q is not an IPv4 address", o.NodeIP)
	}
	if bindIP == nil || bindIP.To4() == nil {
		return nil, fmt.Errorf("rtc: bind IP %q is not an IPv4 address", o.BindIP)
	}
	if o.UDPPort < 0 || o.UDPPort > 65535 {
		return nil, fmt.Errorf("rtc: UDP port %d out of range", o.UDPPort)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.DataBacklog <= 0 {
		o.DataBacklog = DefaultDataBacklog
	}

	me := &webrtc.MediaEngine{}
	table := codecs()
	if err := registerCodecs(me); err != nil {
		return nil, fmt.Errorf("rtc: register codecs: %w", err)
	}

	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: bindIP, Port: o.UDPPort})
	if err != nil {
		return nil, fmt.Errorf("rtc: open UDP %s: %w", net.JoinHostPort(o.BindIP, strconv.Itoa(o.UDPPort)), err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	// pion skips loopback addresses by default; without this a server on
	// 127.0.0.1 gathers no candidate at all and every connect times out.
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// Peers read their data channels themselves (Peer.addChannel), and
	// the SDP says how large a message they take, so that clients refuse
	// larger ones instead of sending what the server would drop.
	se.DetachDataChannels()
	se.SetSCTPMaxMessageSize(maxChannelMessage)
	se.LoggerFactory = pionLoggers{log: log}
	mux := webrtc.NewICEUDPMux(se.LoggerFactory.NewLogger("udpmux"), conn)
	se.SetICEUDPMux(mux)
	if !nodeIP.Equal(bindIP) {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        []string{nodeIP.String()},
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			_ = mux.Close()
			_ = conn.Close()
			return nil, fmt.Errorf("rtc: node IP rewrite: %w", err)
		}
	}

	return &Engine{
		api:    webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)),
		conn:   conn,
		mux:    mux,
		log:    log,
		fwd:    newForwarder(),
		codecs: table,

		dataHigh:    min(max(o.DataBacklog/4, 1), maxSCTPBuffered),
		dataBacklog: o.DataBacklog,
		inDropped:   o.InboundDataDropped,
	}, nil
}

// Forwarder routes the media of every Peer of this Engine.
func (e *Engine) Forwarder() *Forwarder { return e.fwd }

// Port is the UDP port every Peer uses.
func (e *Engine) Port() int {
	return e.conn.LocalAddr().(*net.UDPAddr).Port
}

// Close releases the UDP port. Peers should be closed first; their
// connections stop working once the port is gone.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		e.closeErr = e.mux.Close()
		if err := e.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) && e.closeErr == nil {
			e.closeErr = err
		}
	})
	return e.closeErr
}

package httpapi

import "github.com/livekit-mock/livekit-mock/internal/signal"

// relayHeader marks a request another instance forwarded or relayed to this
// one, the room's home: it is answered here, whatever the directory says, so
// nothing is ever passed on twice. The signalling relay itself lives in
// signal (relay.go); the forwarding of HTTP calls in cluster_forward.go.
const relayHeader = signal.RelayHeader

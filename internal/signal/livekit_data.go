package signal

import (
	"context"
	"errors"
	"log/slog"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// Data to a LiveKit client goes from the room straight to its data channel
// (rtc.Peer.SendData), not through the session's outbox: it does not wait
// behind signalling, does not count against the outbox, and goes on while
// the signalling reconnects (a parked session keeps its peer). Reliable
// data is delivered or the receiver is disconnected: a receiver whose
// backlog is full (rtc.ErrSlowConsumer) leaves as slow_consumer. Lossy data
// may be dropped when the receiver's channel is backed up; every packet
// not delivered is counted (LiveKitOptions.DataDropped).

// Kinds of data LiveKitOptions.DataDropped counts.
const (
	DataLossy    = "lossy"
	DataReliable = "reliable"
)

// dataSink is the rooms.Sink of a LiveKit member with a peer: data events
// go to the peer, the rest to next (the session's sink; nil while parked,
// then they are dropped as rooms does for a detached member).
type dataSink struct {
	next     rooms.Sink
	peer     *rtc.Peer
	o        *LiveKitOptions
	log      *slog.Logger
	room, id string // for the log
	// slow ends what the receiver has (its session, or its parked
	// session) as a slow consumer; the room removes the member meanwhile.
	slow func()
	// closed is Close while parked (next nil).
	closed func(rooms.Reason)
	warned bool // a loss to a closed channel was logged; room goroutine only
}

func (d *dataSink) Send(ev rooms.Event) bool {
	if ev.Kind != rooms.EventDataReceived {
		if d.next == nil {
			return true
		}
		return d.next.Send(ev)
	}
	return d.deliver(ev.Data)
}

func (d *dataSink) Close(r rooms.Reason) {
	if d.next != nil {
		d.next.Close(r)
		return
	}
	if d.closed != nil {
		d.closed(r)
	}
}

// deliver writes one packet to the receiver's data channel; false: the
// receiver is too slow and is being disconnected.
func (d *dataSink) deliver(pkt *rooms.DataPacket) bool {
	if pkt == nil {
		return true
	}
	raw := pkt.Raw
	if raw == nil {
		b, err := pbwire.EncodeUserPacket(pbwire.UserPacket{
			SenderSID:             pkt.FromSid,
			SenderIdentity:        pkt.FromIdentity,
			Payload:               pkt.Payload,
			Topic:                 pkt.Topic,
			DestinationIdentities: pkt.Destinations,
			Reliable:              pkt.Reliable,
			Nonce:                 pkt.Nonce,
		})
		if err != nil {
			d.log.Warn("livekit: data packet not encodable, not delivered", "room", d.room, "identity", d.id, "err", err)
			d.dropped(pkt.Reliable)
			return true
		}
		raw = b
	}
	err := d.peer.SendData(pkt.Reliable, raw)
	switch {
	case err == nil, errors.Is(err, rtc.ErrClosed):
		// ErrClosed: the receiver is leaving; its session ends with a reason.
		return true
	case errors.Is(err, rtc.ErrDataDropped):
		d.dropped(false)
		return true
	case errors.Is(err, rtc.ErrSlowConsumer):
		d.dropped(true)
		d.log.Warn("livekit: receiver too slow for its reliable data, disconnected",
			"room", d.room, "identity", d.id, "reason", rooms.ReasonSlowConsumer)
		if d.slow != nil {
			d.slow()
		}
		return false
	default: // the client closed its channel, or never opened it
		d.dropped(pkt.Reliable)
		if !d.warned {
			d.warned = true
			d.log.Warn("livekit: data not delivered, the receiver's data channel is closed or never opened (further losses counted only)",
				"room", d.room, "identity", d.id, "reliable", pkt.Reliable, "err", err)
		}
		return true
	}
}

func (d *dataSink) dropped(reliable bool) {
	if d.o.DataDropped == nil {
		return
	}
	if reliable {
		d.o.DataDropped(DataReliable)
	} else {
		d.o.DataDropped(DataLossy)
	}
}

// sink is the rooms.Sink of this session's member, next being the
// session's own; with a peer, data bypasses it (dataSink).
func (h *lkHandler) sink(next rooms.Sink) rooms.Sink {
	if h.peer == nil {
		return next
	}
	g := h.j.Grant
	return &dataSink{next: next, peer: h.peer, o: h.o, log: h.log, room: g.Room, id: g.Identity,
		slow: func() {
			h.s.end(cause{code: ClosePolicy, text: string(rooms.ReasonSlowConsumer),
				notice: string(rooms.ReasonSlowConsumer), leave: rooms.ReasonSlowConsumer})
		}}
}

// parkedSink is the data sink of a parked session: its peer still takes
// data; a slow consumer or a removal ends the parked session.
func (h *lkHandler) parkedSink(t *resumeTable, key lkKey, pk *parkedSession) rooms.Sink {
	g := h.j.Grant
	end := func(r rooms.Reason) { t.after(0, func() { t.end(key, pk, r) }) }
	return &dataSink{peer: pk.peer, o: h.o, log: h.log, room: g.Room, id: g.Identity,
		slow: func() { end(rooms.ReasonSlowConsumer) }, closed: end}
}

// relayData hands a data packet the client sent on label to the room as
// m's; the client's own sid and identity are stamped in.
func relayData(ctx context.Context, m *rooms.Member, log *slog.Logger, label string, payload []byte) {
	raw, info, err := pbwire.StampSender(payload, m.Sid(), m.Identity())
	if err != nil {
		log.Debug("livekit: bad data packet ignored", "err", err)
		return
	}
	pkt := rooms.DataPacket{
		Payload:      info.Payload,
		Topic:        info.Topic,
		Destinations: info.DestinationIdentities,
		Reliable:     label == rtc.LabelReliable,
		Kind:         info.Kind,
		Nonce:        info.Nonce,
		Raw:          raw,
	}
	if err := m.SendData(ctx, pkt); err != nil && !errors.Is(err, rooms.ErrNotJoined) {
		log.Debug("livekit: data not relayed", "err", err)
	}
}

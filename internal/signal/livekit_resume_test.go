package signal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/livekit"
	"github.com/pion/webrtc/v4"
	"google.golang.org/protobuf/proto"

	"github.com/livekit-mock/livekit-mock/internal/rooms"
	"github.com/livekit-mock/livekit-mock/internal/rtc"
	"github.com/livekit-mock/livekit-mock/internal/signal"
	"github.com/livekit-mock/livekit-mock/internal/signal/pbwire"
)

// silenceFaults silences the identities in its set (a silence rule).
type silenceFaults struct {
	mu     sync.Mutex
	silent map[string]bool
}

func (f *silenceFaults) Outgoing(string, string) (time.Duration, bool) { return 0, false }
func (f *silenceFaults) Connection(string, string) (int, bool)         { return 0, false }
func (f *silenceFaults) Silenced(_, identity string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.silent[identity]
}

// resumeOpts are the knobs of startResumable beyond the window.
type resumeOpts struct {
	faults signal.Faults
	obs    chan rooms.Event // the registry's observer events, if not nil
	now    func() time.Time // the dialect's clock; nil: lkNow
}

// startResumable is startLK with a resume window and, optionally, fault
// rules, an observer and a clock.
func startResumable(t *testing.T, window time.Duration, faults signal.Faults, more ...resumeOpts) *lkEnv {
	t.Helper()
	o := resumeOpts{faults: faults, now: func() time.Time { return lkNow }}
	if len(more) > 0 {
		o.obs = more[0].obs
		if more[0].now != nil {
			o.now = more[0].now
		}
	}
	var observer rooms.Observer
	if o.obs != nil {
		observer = rooms.ObserverFunc(func(ev rooms.Event) {
			select {
			case o.obs <- ev:
			default:
			}
		})
	}
	reg := rooms.NewRegistry(rooms.Options{EmptyTimeout: time.Minute, DepartureTimeout: time.Minute, Observer: observer})
	eng, err := rtc.NewEngine(rtc.Options{NodeIP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	hub := signal.NewHub(signal.Options{CloseGrace: 200 * time.Millisecond, ResumeWindow: window, Faults: faults})
	lk := signal.NewLiveKit(signal.LiveKitOptions{
		Registry: reg, Engine: eng, Now: o.now,
		ICEServers: []pbwire.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}},
	})
	// /json serves the JSON dialect on the same rooms.
	jsonDialect := signal.NewJSONDialect(signal.JSONOptions{Registry: reg, Limits: signal.Limits{ReadLimit: 64 << 10}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/json" {
			adm, err := hub.Admit("127.0.0.1")
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			_ = hub.Serve(w, r, signal.Request{Admission: adm, Dialect: jsonDialect})
			return
		}
		q := r.URL.Query()
		params, err := pbwire.ParseJoinQuery(q, q.Has("join_request"), false)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		identity := q.Get("identity")
		join := signal.LiveKitJoin{
			Grant: signal.Grant{Identity: identity, Room: q.Get("room"), RoomJoin: true,
				Permission: rooms.Permission{CanPublish: true, CanSubscribe: true, CanPublishData: true}},
			Params: params,
		}
		adm, err := hub.Admit("127.0.0.1")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_ = hub.Serve(w, r, signal.Request{Admission: adm, Dialect: lk.Dialect(join)})
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), lkWait)
		defer cancel()
		_ = hub.Shutdown(ctx)
		srv.Close()
		lk.Close()
		reg.Close()
		_ = eng.Close()
	})
	return &lkEnv{url: "ws" + strings.TrimPrefix(srv.URL, "http"), reg: reg, hub: hub}
}

// drop closes the client's TCP connection without a close frame or leave.
func (c *lkClient) drop() {
	_ = c.c.UnderlyingConn().Close()
	<-c.done
}

// sync pings and returns every frame before the pong: what the server had
// sent the client until then.
func (c *lkClient) sync() []*livekit.SignalResponse {
	c.t.Helper()
	var got []*livekit.SignalResponse
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 77}}})
	c.until("pong_resp", func(sr *livekit.SignalResponse) bool {
		got = append(got, sr)
		return sr.GetPongResp().GetLastPingTimestamp() == 77
	})
	return got
}

func sawDisconnected(frames []*livekit.SignalResponse, sid string) bool {
	for _, sr := range frames {
		for _, p := range sr.GetUpdate().GetParticipants() {
			if p.GetSid() == sid && p.GetState() == livekit.ParticipantInfo_DISCONNECTED {
				return true
			}
		}
	}
	return false
}

func resumeQuery(identity, room, sid string) string {
	return q(identity, room, "reconnect", "1", "sid", sid)
}

// expectRejoin checks that a resume was answered with only
// leave{STATE_MISMATCH, RECONNECT} and a close.
func expectRejoin(t *testing.T, c *lkClient) {
	t.Helper()
	frames, _ := c.closed()
	if len(frames) != 1 {
		t.Fatalf("resume answered with %d frames, want only the leave: %v", len(frames), frames)
	}
	l := frames[0].GetLeave()
	if l.GetReason() != livekit.DisconnectReason_STATE_MISMATCH || l.GetAction() != livekit.LeaveRequest_RECONNECT {
		t.Errorf("leave = %v, want STATE_MISMATCH/RECONNECT", l)
	}
}

// expectResumed checks the first frames of a resume: reconnect, then a
// participant update with the client first, then a room update.
func expectResumed(t *testing.T, c *lkClient, sid string) *livekit.ParticipantInfo {
	t.Helper()
	first := c.next()
	rc := first.GetReconnect()
	if rc == nil {
		t.Fatalf("first frame of the resume is %T, want reconnect", first.GetMessage())
	}
	if len(rc.GetIceServers()) != 1 || rc.GetServerInfo().GetVersion() == "" {
		t.Errorf("reconnect = %v", rc)
	}
	ps := c.next().GetUpdate().GetParticipants()
	if len(ps) == 0 || ps[0].GetSid() != sid {
		t.Fatalf("second frame: update %v, want the client %s first", ps, sid)
	}
	if r := c.next().GetRoomUpdate().GetRoom(); r == nil || r.GetNumParticipants() != uint32(len(ps)) {
		t.Errorf("third frame: room update %v, want %d participants", r, len(ps))
	}
	return ps[0]
}

// restartICE sends an ICE-restart offer with id and applies the answer.
func restartICE(t *testing.T, c *lkClient, pc *pcClient, id uint32) {
	t.Helper()
	o, err := pc.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc.pc)
	if err := pc.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, gathered, "client gathering")
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Offer{Offer: &livekit.SessionDescription{
		Type: "offer", Sdp: pc.pc.LocalDescription().SDP, Id: id}}})
	answer(t, c, pc, id, true)
}

func publish(t *testing.T, c *lkClient, name string) string {
	t.Helper()
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_AddTrack{AddTrack: &livekit.AddTrackRequest{
		Cid: "cid-" + name, Name: name, Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE}}})
	return c.until("track_published", func(sr *livekit.SignalResponse) bool { return sr.GetTrackPublished() != nil }).
		GetTrackPublished().GetTrack().GetSid()
}

func TestLiveKitResumeKeepsParticipant(t *testing.T) {
	for _, v1 := range []bool{false, true} {
		name := map[bool]string{false: "v0", true: "v1"}[v1]
		t.Run(name, func(t *testing.T) {
			e := startResumable(t, time.Minute, nil)
			room := "resume-" + name
			sink := fakeSink{ch: make(chan rooms.Event, 256)}
			fake, err := e.reg.Join(context.Background(), rooms.JoinRequest{
				Room: room, Identity: "json-peer", Permission: rooms.AllPermissions(), Dialect: rooms.DialectJSON, State: rooms.StateActive,
			}, sink)
			if err != nil {
				t.Fatal(err)
			}
			watcher := e.dial(t, q("watcher", room))
			watcher.join()
			alice := e.dial(t, q("alice", room))
			sid := alice.join().GetParticipant().GetSid()
			pc := newPC(t)
			negotiate(t, alice, pc, 1, true)
			waitClosed(t, pc.connected, "client PeerConnection connected")
			waitClosed(t, pc.opened, "the client's _reliable channel open")
			track := publish(t, alice, "mic")
			watcher.until("alice ACTIVE", isUpdateOf("alice", livekit.ParticipantInfo_ACTIVE))

			alice.drop()
			query := resumeQuery("alice", room, sid)
			if v1 {
				query = q("alice", room, "join_request", joinRequest(t, &livekit.JoinRequest{Reconnect: true, ParticipantSid: sid}))
			}
			back := e.dial(t, query)
			me := expectResumed(t, back, sid)
			if me.GetIdentity() != "alice" || len(me.GetTracks()) != 1 || me.GetTracks()[0].GetSid() != track {
				t.Errorf("resumed participant = %v, want its track %s", me, track)
			}
			restartICE(t, back, pc, 2)

			// Data channels carry on, both ways.
			if err := fake.SendData(context.Background(), rooms.DataPacket{Payload: []byte("after resume"), Reliable: true}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-pc.received:
			case <-time.After(lkWait):
				t.Fatal("no data on the kept channel after the resume")
			}
			b, _ := proto.Marshal(&livekit.DataPacket{Value: &livekit.DataPacket_User{User: &livekit.UserPacket{Payload: []byte("hi")}}})
			if err := pc.reliable.Send(b); err != nil {
				t.Fatal(err)
			}
			waitEvent(t, sink.ch, "alice's data relayed after the resume", func(ev rooms.Event) bool {
				return ev.Kind == rooms.EventDataReceived && ev.Data.FromSid == sid
			})
			// The session is live (pings answered) and nobody saw alice go.
			back.sync()
			if sawDisconnected(watcher.sync(), sid) {
				t.Error("the watcher saw alice DISCONNECTED")
			}
			for len(sink.ch) > 0 {
				if ev := <-sink.ch; ev.Kind == rooms.EventParticipantLeft {
					t.Errorf("the JSON peer saw %s leave", ev.Participant.Identity)
				}
			}
		})
	}
}

func waitEvent(t *testing.T, ch <-chan rooms.Event, what string, pred func(rooms.Event) bool) {
	t.Helper()
	deadline := time.After(lkWait)
	for {
		select {
		case ev := <-ch:
			if pred(ev) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s in time", what)
		}
	}
}

func TestLiveKitResumeWindowExpires(t *testing.T) {
	e := startResumable(t, 300*time.Millisecond, nil)
	watcher := e.dial(t, q("watcher", "r-exp"))
	watcher.join()
	alice := e.dial(t, q("alice", "r-exp"))
	sid := alice.join().GetParticipant().GetSid()
	pc := newPC(t)
	negotiate(t, alice, pc, 1, true)
	alice.drop()
	u := watcher.until("alice DISCONNECTED", isUpdateOf("alice", livekit.ParticipantInfo_DISCONNECTED))
	if r := u.GetUpdate().GetParticipants()[0].GetDisconnectReason(); r != livekit.DisconnectReason_CONNECTION_TIMEOUT {
		t.Errorf("reason = %v, want CONNECTION_TIMEOUT (timeout)", r)
	}
	expectRejoin(t, e.dial(t, resumeQuery("alice", "r-exp", sid)))
}

func TestLiveKitResumeRefused(t *testing.T) {
	cases := []struct {
		name string
		// end ends alice's first session; the resume names sid.
		end func(c *lkClient)
		sid func(real string) string
	}{
		{"after a client leave", func(c *lkClient) {
			c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Leave{Leave: &livekit.LeaveRequest{}}})
			c.closed()
		}, func(s string) string { return s }},
		{"another sid", func(c *lkClient) { c.drop() }, func(string) string { return "PA_someoneelse" }},
		{"never joined", nil, func(string) string { return "PA_unknown" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := startResumable(t, time.Minute, nil)
			sid := "PA_none"
			if tc.end != nil {
				c := e.dial(t, q("alice", "r-ref"))
				sid = c.join().GetParticipant().GetSid()
				tc.end(c)
			}
			expectRejoin(t, e.dial(t, resumeQuery("alice", "r-ref", tc.sid(sid))))
			// A full rejoin then works, with a new sid.
			again := e.dial(t, q("alice", "r-ref"))
			if got := again.join().GetParticipant().GetSid(); got == sid {
				t.Errorf("rejoin kept sid %s", got)
			}
		})
	}
}

// A silenced client stops getting pongs; when it gives up and resumes while
// the server still holds its old socket, the old one is closed and the
// resume succeeds.
func TestLiveKitSilenceThenResume(t *testing.T) {
	f := &silenceFaults{silent: map[string]bool{}}
	e := startResumable(t, time.Minute, f)
	alice := e.dial(t, q("alice", "r-sil"))
	sid := alice.join().GetParticipant().GetSid()
	f.mu.Lock()
	f.silent["alice"] = true
	f.mu.Unlock()
	alice.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_PingReq{PingReq: &livekit.Ping{Timestamp: 1}}})
	alice.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Ping{Ping: 1}})
	// A request that is answered anyway marks how far the server got.
	alice.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_UpdateMetadata{UpdateMetadata: &livekit.UpdateParticipantMetadata{Metadata: "m", RequestId: 5}}})
	alice.until("request_response", func(sr *livekit.SignalResponse) bool {
		if sr.GetPong() != 0 || sr.GetPongResp() != nil {
			t.Errorf("a silenced ping was answered: %v", sr)
		}
		return sr.GetRequestResponse().GetRequestId() == 5
	})
	back := e.dial(t, resumeQuery("alice", "r-sil", sid))
	expectResumed(t, back, sid)
	frames, code := alice.closed()
	if len(frames) != 0 || code != websocket.CloseNormalClosure {
		t.Errorf("old socket got %v and close %d, want a plain close 1000", frames, code)
	}
}

func simulate(c *lkClient, s *livekit.SimulateScenario) {
	c.send(&livekit.SignalRequest{Message: &livekit.SignalRequest_Simulate{Simulate: s}})
}

func TestLiveKitSimulateScenario(t *testing.T) {
	t.Run("speaker_update", func(t *testing.T) {
		e := startResumable(t, time.Minute, nil)
		watcher := e.dial(t, q("watcher", "r-sim"))
		watcher.join()
		alice := e.dial(t, q("alice", "r-sim"))
		sid := alice.join().GetParticipant().GetSid()
		simulate(alice, &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_SpeakerUpdate{SpeakerUpdate: 0}})
		for _, c := range []*lkClient{watcher, alice} {
			for _, active := range []bool{true, false} {
				sp := c.until("speakers_changed", func(sr *livekit.SignalResponse) bool { return sr.GetSpeakersChanged() != nil }).
					GetSpeakersChanged().GetSpeakers()
				if len(sp) != 1 || sp[0].GetSid() != sid || sp[0].GetActive() != active || (sp[0].GetLevel() > 0) != active {
					t.Errorf("speakers = %v, want %s active=%v", sp, sid, active)
				}
			}
		}
	})
	for _, tc := range []struct {
		scenario *livekit.SimulateScenario
		reason   livekit.DisconnectReason
	}{
		{&livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_NodeFailure{NodeFailure: true}}, livekit.DisconnectReason_SERVER_SHUTDOWN},
		{&livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_Migration{Migration: true}}, livekit.DisconnectReason_MIGRATION},
	} {
		t.Run(tc.reason.String(), func(t *testing.T) {
			e := startResumable(t, time.Minute, nil)
			watcher := e.dial(t, q("watcher", "r-nf"))
			watcher.join()
			alice := e.dial(t, q("alice", "r-nf"))
			sid := alice.join().GetParticipant().GetSid()
			simulate(alice, tc.scenario)
			frames, code := alice.closed()
			for _, f := range frames {
				if f.GetLeave() != nil {
					t.Errorf("the client got a leave: %v", f)
				}
			}
			if code != websocket.CloseNormalClosure {
				t.Errorf("close code %d, want 1000", code)
			}
			u := watcher.until("alice DISCONNECTED", isUpdateOf("alice", livekit.ParticipantInfo_DISCONNECTED))
			if r := u.GetUpdate().GetParticipants()[0].GetDisconnectReason(); r != tc.reason {
				t.Errorf("watcher sees reason %v, want %v", r, tc.reason)
			}
			expectRejoin(t, e.dial(t, resumeQuery("alice", "r-nf", sid)))
		})
	}
	t.Run("server_leave", func(t *testing.T) {
		e := startResumable(t, time.Minute, nil)
		alice := e.dial(t, q("alice", "r-sl"))
		alice.join()
		simulate(alice, &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_ServerLeave{ServerLeave: true}})
		frames, _ := alice.closed()
		if l := lastLeave(t, frames); l.GetReason() != livekit.DisconnectReason_SERVER_SHUTDOWN || l.GetAction() != livekit.LeaveRequest_DISCONNECT {
			t.Errorf("leave = %v", l)
		}
	})
	t.Run("disconnect_signal_on_resume", func(t *testing.T) {
		e := startResumable(t, time.Minute, nil)
		alice := e.dial(t, q("alice", "r-dr"))
		sid := alice.join().GetParticipant().GetSid()
		simulate(alice, &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_DisconnectSignalOnResume{DisconnectSignalOnResume: true}})
		alice.sync()
		alice.drop()
		first := e.dial(t, resumeQuery("alice", "r-dr", sid))
		expectResumed(t, first, sid)
		frames, code := first.closed()
		for _, f := range frames {
			if f.GetLeave() != nil {
				t.Errorf("the resumed session got a leave: %v", f)
			}
		}
		if code != websocket.CloseNormalClosure {
			t.Errorf("close %d, want 1000", code)
		}
		second := e.dial(t, resumeQuery("alice", "r-dr", sid))
		expectResumed(t, second, sid)
		second.sync() // stays up
	})
	t.Run("disconnect_signal_on_resume_no_messages", func(t *testing.T) {
		e := startResumable(t, time.Minute, nil)
		alice := e.dial(t, q("alice", "r-dn"))
		sid := alice.join().GetParticipant().GetSid()
		simulate(alice, &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_DisconnectSignalOnResumeNoMessages{DisconnectSignalOnResumeNoMessages: true}})
		alice.sync()
		alice.drop()
		for i := range 3 {
			frames, code := e.dial(t, resumeQuery("alice", "r-dn", sid)).closed()
			if len(frames) != 0 || code != websocket.CloseNormalClosure {
				t.Errorf("resume %d: %d frames, close %d; want none and 1000", i+1, len(frames), code)
			}
		}
		expectResumed(t, e.dial(t, resumeQuery("alice", "r-dn", sid)), sid)
	})
	t.Run("leave_request_full_reconnect", func(t *testing.T) {
		e := startResumable(t, time.Minute, nil)
		alice := e.dial(t, q("alice", "r-lr"))
		alice.join()
		simulate(alice, &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_LeaveRequestFullReconnect{LeaveRequestFullReconnect: true}})
		for _, f := range alice.sync() {
			if f.GetLeave() != nil {
				t.Errorf("got a leave: %v", f)
			}
		}
	})
}

// A parked participant is a session of the hub: a reset (EndAll) or a
// shutdown ends it like any other, and others see it leave with that reason.
func TestLiveKitParkedEndedByHub(t *testing.T) {
	cases := []struct {
		name   string
		end    func(e *lkEnv)
		reason rooms.Reason
	}{
		{"reset", func(e *lkEnv) { e.hub.EndAll(rooms.ReasonRoomDeleted) }, rooms.ReasonRoomDeleted},
		{"shutdown", func(e *lkEnv) { _ = e.hub.Shutdown(context.Background()) }, rooms.ReasonServerShutdown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			observed := make(chan rooms.Event, 256)
			e := startResumable(t, time.Minute, nil, resumeOpts{obs: observed})
			sink := fakeSink{ch: make(chan rooms.Event, 64)}
			if _, err := e.reg.Join(context.Background(), rooms.JoinRequest{
				Room: "r-hub", Identity: "json-peer", Permission: rooms.AllPermissions(), Dialect: rooms.DialectJSON, State: rooms.StateActive,
			}, sink); err != nil {
				t.Fatal(err)
			}
			alice := e.dial(t, q("alice", "r-hub"))
			sid := alice.join().GetParticipant().GetSid()
			negotiate(t, alice, newPC(t), 1, true)
			alice.drop()
			waitEvent(t, observed, "alice detached", func(ev rooms.Event) bool {
				return ev.Kind == rooms.EventParticipantDetached && ev.Participant.Sid == sid
			})
			tc.end(e)
			waitEvent(t, sink.ch, "alice leaving with "+string(tc.reason), func(ev rooms.Event) bool {
				return ev.Kind == rooms.EventParticipantLeft && ev.Participant.Sid == sid && ev.Reason == tc.reason
			})
		})
	}
}

// The scenario windows last 5 s of the dialect's clock: after them a resume
// is answered normally.
func TestLiveKitSimulateWindowsEnd(t *testing.T) {
	var mu sync.Mutex
	now := lkNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := startResumable(t, time.Minute, nil, resumeOpts{now: clock})
	alice := e.dial(t, q("alice", "r-win"))
	sid := alice.join().GetParticipant().GetSid()
	simulate(alice, &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_DisconnectSignalOnResumeNoMessages{DisconnectSignalOnResumeNoMessages: true}})
	simulate(alice, &livekit.SimulateScenario{Scenario: &livekit.SimulateScenario_DisconnectSignalOnResume{DisconnectSignalOnResume: true}})
	alice.sync()
	mu.Lock()
	now = now.Add(6 * time.Second)
	mu.Unlock()
	alice.drop()
	back := e.dial(t, resumeQuery("alice", "r-win", sid))
	expectResumed(t, back, sid)
	for _, f := range back.sync() {
		if f.GetLeave() != nil {
			t.Errorf("got a leave: %v", f)
		}
	}
}

// Someone who joins while a participant waits to be resumed sees it as the
// others do: ACTIVE, not DISCONNECTED.
func TestLiveKitJoinWhileParked(t *testing.T) {
	observed := make(chan rooms.Event, 256)
	e := startResumable(t, time.Minute, nil, resumeOpts{obs: observed})
	alice := e.dial(t, q("alice", "r-jp"))
	sid := alice.join().GetParticipant().GetSid()
	negotiate(t, alice, newPC(t), 1, true)
	alice.until("own ACTIVE", isUpdateOf("alice", livekit.ParticipantInfo_ACTIVE))
	alice.drop()
	waitEvent(t, observed, "alice detached", func(ev rooms.Event) bool {
		return ev.Kind == rooms.EventParticipantDetached && ev.Participant.Sid == sid
	})
	others := e.dial(t, q("carol", "r-jp")).join().GetOtherParticipants()
	if len(others) != 1 || others[0].GetSid() != sid || others[0].GetState() != livekit.ParticipantInfo_ACTIVE {
		t.Errorf("carol's other_participants = %v, want alice ACTIVE", others)
	}
}

// A LiveKit participant waiting to be resumed cannot be taken over with a
// JSON resume naming its sid: the answer is the unknown sid's, and the
// participant stays resumable in its own dialect.
func TestLiveKitParticipantNotResumedOverJSON(t *testing.T) {
	obs := make(chan rooms.Event, 256)
	e := startResumable(t, time.Minute, nil, resumeOpts{obs: obs})
	alice := e.dial(t, q("alice", "r-x"))
	sid := alice.join().GetParticipant().GetSid()
	pc := newPC(t)
	negotiate(t, alice, pc, 1, true)
	waitClosed(t, pc.connected, "client PeerConnection connected")
	alice.drop()
	deadline := time.After(lkWait)
	for detached := false; !detached; {
		select {
		case ev := <-obs:
			detached = ev.Kind == rooms.EventParticipantDetached
		case <-deadline:
			t.Fatal("alice was not detached")
		}
	}

	resume := func(sid string) string {
		t.Helper()
		c, _, err := websocket.DefaultDialer.Dial(e.url+"/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(lkWait))
		if _, _, err := c.ReadMessage(); err != nil { // welcome
			t.Fatal(err)
		}
		_ = c.WriteJSON(map[string]any{"type": "resume", "participantSid": sid})
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	unknown := resume("PA_unknown")
	if got := resume(sid); got != unknown || !strings.Contains(got, `"not_found"`) {
		t.Fatalf("JSON resume of a LiveKit participant: %s, want the unknown sid's %s", got, unknown)
	}
	expectResumed(t, e.dial(t, resumeQuery("alice", "r-x", sid)), sid)
}

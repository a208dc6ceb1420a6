package pbwire

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

const sampleOffer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wrapRaw builds a join_request value around already-encoded bytes, the way
// livekit-client (padded) or a lenient client (unpadded) does.
func wrapRaw(t *testing.T, c livekit.WrappedJoinRequest_Compression, inner []byte, padded bool) string {
	t.Helper()
	b := marshal(t, &livekit.WrappedJoinRequest{Compression: c, JoinRequest: inner})
	if padded {
		return base64.URLEncoding.EncodeToString(b)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func wrapJoin(t *testing.T, jr *livekit.JoinRequest, gzipped, padded bool) string {
	t.Helper()
	inner := marshal(t, jr)
	if gzipped {
		return wrapRaw(t, livekit.WrappedJoinRequest_GZIP, gz(t, inner), padded)
	}
	return wrapRaw(t, livekit.WrappedJoinRequest_NONE, inner, padded)
}

func sampleJoinRequest() *livekit.JoinRequest {
	return &livekit.JoinRequest{
		ClientInfo: &livekit.ClientInfo{
			Sdk: livekit.ClientInfo_JS, Version: "2.23.0", Protocol: 17, ClientProtocol: 1, Os: "Linux", Browser: "Chrome",
		},
		ConnectionSettings:    &livekit.ConnectionSettings{AutoSubscribe: true, AdaptiveStream: true},
		Metadata:              "meta",
		ParticipantAttributes: map[string]string{"k": "v"},
		AddTrackRequests:      []*livekit.AddTrackRequest{{Cid: "c1", Name: "mic", Type: livekit.TrackType_AUDIO, Source: livekit.TrackSource_MICROPHONE}},
		PublisherOffer:        &livekit.SessionDescription{Type: "offer", Sdp: sampleOffer, Id: 1},
		Reconnect:             true,
		ReconnectReason:       livekit.ReconnectReason_RR_SIGNAL_DISCONNECTED,
		ParticipantSid:        "PA_abc",
	}
}

func TestParseJoinQueryV1Decodes(t *testing.T) {
	for _, tc := range []struct {
		name            string
		gzipped, padded bool
	}{
		{"gzip padded (livekit-client)", true, true},
		{"gzip unpadded", true, false},
		{"plain padded (rust, small joins)", false, true},
		{"plain unpadded", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"join_request": {wrapJoin(t, sampleJoinRequest(), tc.gzipped, tc.padded)}}
			p, err := ParseJoinQuery(q, true, true)
			if err != nil {
				t.Fatalf("ParseJoinQuery: %v", err)
			}
			if !p.SinglePC || !p.Reconnect || p.ParticipantSID != "PA_abc" || !p.AutoSubscribe || !p.AdaptiveStream {
				t.Errorf("flags = %+v", p)
			}
			if p.PublisherOffer == nil || p.PublisherOffer.SDP != sampleOffer || p.PublisherOffer.ID != 1 || p.PublisherOffer.Type != "offer" {
				t.Errorf("publisher offer = %+v", p.PublisherOffer)
			}
			if p.Metadata != "meta" || p.Attributes["k"] != "v" {
				t.Errorf("metadata/attributes = %q %v", p.Metadata, p.Attributes)
			}
			if p.SDK != "js" || p.Protocol != 17 || p.SDKVersion != "2.23.0" {
				t.Errorf("client info = %q %d %q", p.SDK, p.Protocol, p.SDKVersion)
			}
			if len(p.AddTracks) != 1 || p.AddTracks[0].CID != "c1" || p.AddTracks[0].Kind != "audio" || p.AddTracks[0].Source != "microphone" {
				t.Errorf("add tracks = %+v", p.AddTracks)
			}
		})
	}
}

func TestParseJoinQueryV1WithoutOffer(t *testing.T) {
	// A browser without CompressionStream joins uncompressed and offers later.
	q := url.Values{"join_request": {wrapJoin(t, &livekit.JoinRequest{ClientInfo: &livekit.ClientInfo{Sdk: livekit.ClientInfo_JS}}, false, true)}}
	p, err := ParseJoinQuery(q, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.PublisherOffer != nil || p.Reconnect || p.AutoSubscribe {
		t.Errorf("got %+v", p)
	}
}

func TestParseJoinQueryRefusals(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, MaxJoinRequestBytes+1)
	bomb := marshal(t, &livekit.JoinRequest{Metadata: string(big)})
	atCap := marshal(t, &livekit.JoinRequest{Metadata: strings.Repeat("y", MaxJoinRequestBytes-16)})
	for _, tc := range []struct {
		name  string
		q     url.Values
		v1    bool
		body  string // "" means accepted
		check func(t *testing.T, p JoinParams)
	}{
		{name: "v1 without join_request", q: url.Values{"access_token": {"x"}}, v1: true, body: "join_request is required"},
		{name: "v1 empty join_request", q: url.Values{"join_request": {""}}, v1: true, body: "join_request is required"},
		{name: "not base64", q: url.Values{"join_request": {"!!!not base64!!!"}}, v1: true, body: "cannot base64 decode wrapped join request"},
		{name: "standard base64 alphabet", q: url.Values{"join_request": {"ab+/"}}, v1: true, body: "cannot base64 decode wrapped join request"},
		{name: "wrapper not protobuf", q: url.Values{"join_request": {base64.URLEncoding.EncodeToString([]byte{0xff, 0xff, 0xff})}}, v1: true, body: "cannot unmarshal wrapped join request"},
		{name: "inner not protobuf", q: url.Values{"join_request": {wrapRaw(t, livekit.WrappedJoinRequest_NONE, []byte{0xff, 0xff}, true)}}, v1: true, body: "cannot unmarshal join request"},
		{name: "gzip flag on plain bytes", q: url.Values{"join_request": {wrapRaw(t, livekit.WrappedJoinRequest_GZIP, []byte("plain"), true)}}, v1: true, body: "cannot read decompressed join request"},
		{name: "truncated gzip", q: url.Values{"join_request": {wrapRaw(t, livekit.WrappedJoinRequest_GZIP, gz(t, marshal(t, sampleJoinRequest()))[:20], true)}}, v1: true, body: "cannot read decompressed join request"},
		{name: "gzip inner not protobuf", q: url.Values{"join_request": {wrapRaw(t, livekit.WrappedJoinRequest_GZIP, gz(t, []byte{0xff, 0xff}), true)}}, v1: true, body: "cannot unmarshal join request"},
		{name: "gzip expands past 1 MiB", q: url.Values{"join_request": {wrapRaw(t, livekit.WrappedJoinRequest_GZIP, gz(t, bomb), false)}}, v1: true, body: "join request too large"},
		{name: "plain over 1 MiB", q: url.Values{"join_request": {wrapRaw(t, livekit.WrappedJoinRequest_NONE, bomb, true)}}, v1: true, body: "join request too large"},
		{name: "gzip just under the cap", q: url.Values{"join_request": {wrapRaw(t, livekit.WrappedJoinRequest_GZIP, gz(t, atCap), true)}}, v1: true,
			check: func(t *testing.T, p JoinParams) {
				if len(p.Metadata) != MaxJoinRequestBytes-16 {
					t.Errorf("metadata length %d", len(p.Metadata))
				}
			}},
		{name: "unknown compression is an empty join", q: url.Values{"join_request": {wrapRaw(t, 7, []byte("??"), true)}}, v1: true,
			check: func(t *testing.T, p JoinParams) {
				if !p.SinglePC || p.PublisherOffer != nil || p.Reconnect {
					t.Errorf("got %+v", p)
				}
			}},
		{name: "/rtc accepts a join_request too", q: url.Values{"join_request": {wrapJoin(t, sampleJoinRequest(), true, true)}}, v1: false,
			check: func(t *testing.T, p JoinParams) {
				if !p.SinglePC || p.PublisherOffer == nil {
					t.Errorf("got %+v", p)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseJoinQuery(tc.q, tc.v1, true)
			if tc.body == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				tc.check(t, p)
				return
			}
			he, ok := err.(*HTTPError)
			if !ok {
				t.Fatalf("error = %v (%T), want *HTTPError", err, err)
			}
			if he.Status != http.StatusBadRequest || he.Body != tc.body {
				t.Errorf("got %d %q, want 400 %q", he.Status, he.Body, tc.body)
			}
		})
	}
}

func TestParseJoinQueryV0(t *testing.T) {
	attrs := base64.URLEncoding.EncodeToString([]byte(`{"a":"1"}`))
	for _, tc := range []struct {
		name   string
		query  string
		strict bool
		want   func(p JoinParams) bool
		body   string
	}{
		{name: "livekit-client first join", query: "access_token=t&auto_subscribe=1&sdk=js&version=2.23.0&protocol=17&client_protocol=2&adaptive_stream=1",
			want: func(p JoinParams) bool {
				return !p.SinglePC && p.AutoSubscribe && p.AdaptiveStream && p.SDK == "js" && p.Protocol == 17 && p.ClientProtocol == 2 && !p.Reconnect && p.PublisherOffer == nil
			}},
		{name: "auto_subscribe defaults to true", query: "protocol=17",
			want: func(p JoinParams) bool { return p.AutoSubscribe }},
		{name: "auto_subscribe=0", query: "protocol=17&auto_subscribe=0",
			want: func(p JoinParams) bool { return !p.AutoSubscribe }},
		{name: "auto_subscribe=true", query: "auto_subscribe=true",
			want: func(p JoinParams) bool { return p.AutoSubscribe }},
		{name: "resume names its sid", query: "protocol=17&reconnect=1&sid=PA_x&reconnect_reason=2",
			want: func(p JoinParams) bool { return p.Reconnect && p.ParticipantSID == "PA_x" && p.ReconnectReason == 2 }},
		{name: "sid without reconnect is ignored", query: "protocol=17&sid=PA_x",
			want: func(p JoinParams) bool { return !p.Reconnect && p.ParticipantSID == "" }},
		{name: "reconnect=yes is not a resume", query: "reconnect=yes",
			want: func(p JoinParams) bool { return !p.Reconnect }},
		{name: "protocol not a number", query: "protocol=abc",
			want: func(p JoinParams) bool { return p.Protocol == 0 }},
		{name: "attributes", query: "attributes=" + attrs,
			want: func(p JoinParams) bool { return p.Attributes["a"] == "1" }},
		{name: "publish", query: "publish=cam2",
			want: func(p JoinParams) bool { return p.Publish == "cam2" }},
		{name: "bad attributes ignored on the upgrade", query: "attributes=%25%25",
			want: func(p JoinParams) bool { return p.Attributes == nil }},
		{name: "bad attributes refused by validate", query: "attributes=e30x", strict: true, body: "cannot decode attributes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParseJoinQuery(q, false, tc.strict)
			if tc.body != "" {
				he, ok := err.(*HTTPError)
				if !ok || he.Status != 400 || he.Body != tc.body {
					t.Fatalf("err = %v, want 400 %q", err, tc.body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(p) {
				t.Errorf("unexpected params %+v", p)
			}
		})
	}
}

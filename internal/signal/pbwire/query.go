package pbwire

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// HTTPError is a refusal before the upgrade: the real server's status and
// plain-text body. Body never contains the token.
type HTTPError struct {
	Status int
	Body   string
}

func (e *HTTPError) Error() string { return strconv.Itoa(e.Status) + " " + e.Body }

func badRequest(body string) *HTTPError {
	return &HTTPError{Status: http.StatusBadRequest, Body: body}
}

// MaxJoinRequestBytes caps a join request after decompression, as the real
// server does with http.DefaultMaxHeaderBytes: a few KiB of gzip can
// otherwise expand to gigabytes.
const MaxJoinRequestBytes = 1 << 20

// JoinParams is what the upgrade request says about the join, from the v0
// query parameters or from the v1 join_request.
type JoinParams struct {
	// SinglePC is true when the client sent a join_request (the /rtc/v1
	// single-PeerConnection form).
	SinglePC bool

	SDK            string // "js", "rust", "go", ... lower case; "" unknown
	SDKVersion     string
	Protocol       int32
	ClientProtocol int32
	OS             string
	DeviceModel    string
	Browser        string

	AutoSubscribe   bool
	AdaptiveStream  bool
	Reconnect       bool
	ReconnectReason int32
	// ParticipantSID is the sid a resuming client names (v0 `sid`, v1
	// participant_sid). The real server finds the session by identity.
	ParticipantSID string

	// Metadata and Attributes are set by the client in the join; applying
	// them needs canUpdateOwnMetadata (see CheckJoin).
	Metadata   string
	Attributes map[string]string
	// Publish is the v0 `publish` parameter of a publish-only connection.
	Publish string

	// PublisherOffer is the v1 first offer, answered right after the
	// JoinResponse; nil when the client will send it as an `offer` message.
	PublisherOffer *SessionDescription
	// AddTracks are v1 add_track_requests, handled like add_track.
	AddTracks []AddTrackRequest
}

// ParseJoinQuery reads the upgrade (or validate) query. v1 is true for the
// /rtc/v1 paths, which require join_request; /rtc accepts one too. strict is
// for the validate endpoints, where a bad v0 `attributes` value is refused
// (the upgrade ignores it, as the real server does).
func ParseJoinQuery(q url.Values, v1 bool, strict bool) (JoinParams, error) {
	wrapped := q.Get("join_request")
	if wrapped == "" {
		if v1 {
			return JoinParams{}, badRequest("join_request is required")
		}
		return parseV0(q, strict)
	}
	jr, err := DecodeJoinRequest(wrapped)
	if err != nil {
		return JoinParams{}, err
	}
	return paramsFromJoinRequest(jr), nil
}

func boolValue(s string) bool { return s == "1" || s == "true" }

func int32Value(s string) int32 {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0
	}
	return int32(v)
}

func parseV0(q url.Values, strict bool) (JoinParams, error) {
	p := JoinParams{
		SDK:             strings.ToLower(q.Get("sdk")),
		SDKVersion:      q.Get("version"),
		Protocol:        int32Value(q.Get("protocol")),
		ClientProtocol:  int32Value(q.Get("client_protocol")),
		OS:              q.Get("os"),
		DeviceModel:     q.Get("device_model"),
		Browser:         q.Get("browser"),
		AutoSubscribe:   true,
		AdaptiveStream:  boolValue(q.Get("adaptive_stream")),
		Reconnect:       boolValue(q.Get("reconnect")),
		ReconnectReason: int32Value(q.Get("reconnect_reason")),
		Publish:         q.Get("publish"),
	}
	if v := q.Get("auto_subscribe"); v != "" {
		p.AutoSubscribe = boolValue(v)
	}
	if p.Reconnect {
		p.ParticipantSID = q.Get("sid")
	}
	if v := q.Get("attributes"); v != "" {
		attrs, err := decodeAttributes(v)
		if err != nil && strict {
			return JoinParams{}, badRequest("cannot decode attributes")
		}
		p.Attributes = attrs
	}
	return p, nil
}

func decodeAttributes(s string) (map[string]string, error) {
	raw, err := decodeBase64URL(s)
	if err != nil {
		return nil, err
	}
	var attrs map[string]string
	if err := json.Unmarshal(raw, &attrs); err != nil {
		return nil, err
	}
	return attrs, nil
}

// decodeBase64URL accepts padded (what JS and Rust send, and all the real
// server reads) and unpadded base64url.
func decodeBase64URL(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") || len(s)%4 == 0 {
		if b, err := base64.URLEncoding.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// DecodeJoinRequest unwraps a join_request value: base64url →
// WrappedJoinRequest → gunzip when GZIP → JoinRequest. Errors are
// *HTTPError with the real server's texts.
func DecodeJoinRequest(wrapped string) (*livekit.JoinRequest, error) {
	raw, err := decodeBase64URL(wrapped)
	if err != nil {
		return nil, badRequest("cannot base64 decode wrapped join request")
	}
	var w livekit.WrappedJoinRequest
	if err := proto.Unmarshal(raw, &w); err != nil {
		return nil, badRequest("cannot unmarshal wrapped join request")
	}
	jr := &livekit.JoinRequest{}
	switch w.GetCompression() {
	case livekit.WrappedJoinRequest_NONE:
		if len(w.GetJoinRequest()) > MaxJoinRequestBytes {
			return nil, badRequest("join request too large")
		}
		if err := proto.Unmarshal(w.GetJoinRequest(), jr); err != nil {
			return nil, badRequest("cannot unmarshal join request")
		}
	case livekit.WrappedJoinRequest_GZIP:
		plain, err := gunzipCapped(w.GetJoinRequest(), MaxJoinRequestBytes)
		if err != nil {
			return nil, err
		}
		if err := proto.Unmarshal(plain, jr); err != nil {
			return nil, badRequest("cannot unmarshal join request")
		}
	default:
		// The real server leaves the request empty for a compression it does
		// not know: a plain join with no client info.
	}
	return jr, nil
}

var errTooLarge = errors.New("too large")

func gunzipCapped(b []byte, limit int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, badRequest("cannot read decompressed join request")
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err == nil && len(out) > limit {
		err = errTooLarge
	}
	switch {
	case errors.Is(err, errTooLarge):
		return nil, badRequest("join request too large")
	case err != nil:
		return nil, badRequest("cannot read decompressed join request")
	}
	return out, nil
}

func paramsFromJoinRequest(jr *livekit.JoinRequest) JoinParams {
	ci := jr.GetClientInfo()
	cs := jr.GetConnectionSettings()
	p := JoinParams{
		SinglePC:        true,
		SDKVersion:      ci.GetVersion(),
		Protocol:        ci.GetProtocol(),
		ClientProtocol:  ci.GetClientProtocol(),
		OS:              ci.GetOs(),
		DeviceModel:     ci.GetDeviceModel(),
		Browser:         ci.GetBrowser(),
		AutoSubscribe:   cs.GetAutoSubscribe(),
		AdaptiveStream:  cs.GetAdaptiveStream(),
		Reconnect:       jr.GetReconnect(),
		ReconnectReason: int32(jr.GetReconnectReason()),
		ParticipantSID:  jr.GetParticipantSid(),
		Metadata:        jr.GetMetadata(),
		Attributes:      jr.GetParticipantAttributes(),
	}
	if ci != nil && ci.GetSdk() != livekit.ClientInfo_UNKNOWN {
		p.SDK = strings.ToLower(ci.GetSdk().String())
	}
	if o := jr.GetPublisherOffer(); o != nil {
		sd := sessionDescriptionFrom(o)
		p.PublisherOffer = &sd
	}
	for _, a := range jr.GetAddTrackRequests() {
		p.AddTracks = append(p.AddTracks, addTrackFrom(a))
	}
	return p
}

package client

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/parley-chat/parley"
)

// Calls (docs/calls.md): the STUN/TURN servers over REST, the signalling
// over the real-time session. Call state changes arrive as "call" events
// (Event.Call), relayed descriptions and candidates as "call_sdp" and
// "call_ice" events (Event.Signal).

// CallSignal is a relayed session description (SDPType, SDP) or ICE
// candidate (Candidate) from the peer's device in a call.
type CallSignal struct {
	CallID    string               `json:"call_id"`
	From      string               `json:"from"`
	SDPType   string               `json:"sdp_type,omitempty"`
	SDP       string               `json:"sdp,omitempty"`
	Candidate *parley.ICECandidate `json:"candidate,omitempty"`
}

// ICEServers returns the STUN/TURN servers for the signed-in user's calls,
// TURN ones with fresh short-lived credentials.
func (c *Client) ICEServers(ctx context.Context) (parley.ICEConfig, error) {
	var cfg parley.ICEConfig
	_, err := c.do(ctx, http.MethodGet, "/api/v1/calls/ice-servers", nil, nil, &cfg)
	return cfg, err
}

// callFrames are the frame types of the call actions.
var callFrames = map[parley.CallAction]string{
	parley.CallAccept: "call_accept", parley.CallDecline: "call_decline", parley.CallRefuse: "call_busy",
	parley.CallCancel: "call_cancel", parley.CallHangup: "call_hangup",
}

// RingCall starts a call in the direct conversation conversationID from
// this device and returns it (state ringing).
func (rt *Realtime) RingCall(ctx context.Context, conversationID string, video bool) (parley.Call, error) {
	return rt.callRequest(ctx, map[string]any{"type": "call_ring", "conversation_id": conversationID, "video": video})
}

// CallAction accepts (on this device), declines, answers busy, cancels or
// hangs up the call callID and returns it after the change.
func (rt *Realtime) CallAction(ctx context.Context, callID string, a parley.CallAction) (parley.Call, error) {
	typ, ok := callFrames[a]
	if !ok {
		return parley.Call{}, parley.Invalid("action", "unknown call action %q", a)
	}
	return rt.callRequest(ctx, map[string]any{"type": typ, "call_id": callID})
}

func (rt *Realtime) callRequest(ctx context.Context, frame map[string]any) (parley.Call, error) {
	f, err := rt.request(ctx, frame)
	if err != nil {
		return parley.Call{}, err
	}
	var ans struct {
		Call parley.Call `json:"call"`
	}
	_ = json.Unmarshal(f.raw, &ans)
	return ans.Call, nil
}

// SendSDP relays a session description (parley.SDPOffer or SDPAnswer) to
// the peer's device in the answered call callID.
func (rt *Realtime) SendSDP(ctx context.Context, callID, sdpType, sdp string) error {
	_, err := rt.request(ctx, map[string]any{"type": "call_sdp", "call_id": callID, "sdp_type": sdpType, "sdp": sdp})
	return err
}

// SendICE relays an ICE candidate to the peer's device in the answered call callID.
func (rt *Realtime) SendICE(ctx context.Context, callID string, c parley.ICECandidate) error {
	_, err := rt.request(ctx, map[string]any{"type": "call_ice", "call_id": callID, "candidate": c})
	return err
}

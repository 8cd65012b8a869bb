package ferry

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// encodeArg encodes v as compact JSON after header into the Host's reusable argument buffer
// and returns the argument. A json.RawMessage is copied as it is. want, when not 0, is the
// byte the JSON must start with ('[' for a batch, '{' for an object); what names the argument
// in errors.
//
// The returned slice is only valid until the next call to encodeArg: call release after the
// host call that uses it.
func (h *Host) encodeArg(header string, v any, want byte, what string) ([]byte, error) {
	buf := bytes.NewBuffer(h.scratch[:0])
	buf.WriteString(header)
	start := buf.Len()
	switch v := v.(type) {
	case json.RawMessage:
		buf.Write(bytes.TrimSpace(v))
	default:
		// An Encoder writes straight into the reused buffer; json.Marshal would return a
		// new slice that would then be copied again.
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("encode %s: %w", what, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode ends with a newline
	}
	arg := buf.Bytes()
	h.scratch = arg[:0]
	if want == '[' && bytes.Equal(arg[start:], []byte("null")) {
		arg = append(arg[:start], "[]"...) // a nil slice is an empty batch
	}
	if want != 0 && (len(arg) == start || arg[start] != want) {
		return nil, fmt.Errorf("%s must be a JSON %s, got %s", what, jsonKind(want), excerpt(arg[start:], 40))
	}
	return arg, nil
}

// callRequest calls f with "REQUEST_JSON\nBODY" (head encoded as JSON, then body), built
// straight into the reusable argument buffer, and releases the buffer.
func (h *Host) callRequest(f hostFunc, head any, body []byte) ([]byte, error) {
	buf := bytes.NewBuffer(h.scratch[:0])
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(head); err != nil { // Encode ends with the newline we need
		return nil, fmt.Errorf("encode request: %w", err)
	}
	buf.Write(body)
	arg := buf.Bytes()
	h.scratch = arg[:0]
	res, err := h.call(f, arg)
	h.release()
	return res, err
}

// release lets the argument buffer go if an unusually large argument grew it.
func (h *Host) release() {
	if cap(h.scratch) > maxScratch {
		h.scratch = nil
	}
}

func jsonKind(first byte) string {
	if first == '[' {
		return "array"
	}
	return "object"
}

// excerpt returns at most n bytes of b as a string, marking a cut with "...".
func excerpt(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}

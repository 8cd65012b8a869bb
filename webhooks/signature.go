package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Headers of every delivery.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the body under the webhook's
	// secret.
	HeaderSignature = "X-Ferry-Signature"
	// HeaderDelivery is the delivery's id, the same on every attempt: an app that stores the
	// ids it processed can drop repeats (delivery is at least once).
	HeaderDelivery = "X-Ferry-Delivery"
	// HeaderEvent is the event's type, as in the body.
	HeaderEvent = "X-Ferry-Event"
)

const signaturePrefix = "sha256="

// Sign returns the X-Ferry-Signature value for body: "sha256=" followed by the lowercase hex
// HMAC-SHA256 of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether header, an X-Ferry-Signature value, signs body under secret. It
// compares in constant time, so a forger learns nothing from how long a refusal takes. Pass
// the body exactly as received, before any decoding.
func Verify(secret, body []byte, header string) bool {
	hexSum, ok := strings.CutPrefix(header, signaturePrefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

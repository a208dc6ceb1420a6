package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

func hmacSHA256(secret, signing string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

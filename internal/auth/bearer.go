package auth

import "strings"

// ParseBearer reads an Authorization header of the form "Bearer <token>"
// (scheme case-insensitive, RFC 6750). ok is false for any other shape; use
// CheckBearer for the reason.
func ParseBearer(header string) (token string, ok bool) {
	token, err := CheckBearer(header)
	return token, err == nil
}

// CheckBearer is ParseBearer with a reason: a *Error with code malformed
// when the header is not "Bearer <token>". The reason never repeats the
// header.
func CheckBearer(header string) (string, error) {
	h := strings.TrimSpace(header)
	if h == "" {
		return "", refuse(CodeMalformed, "Authorization header is missing or empty")
	}
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", refuse(CodeMalformed, "Authorization header must use the Bearer scheme")
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" {
		return "", refuse(CodeMalformed, "Authorization header has no token after Bearer")
	}
	if strings.ContainsAny(tok, " \t,") {
		return "", refuse(CodeMalformed, "Authorization header must hold exactly one bearer token")
	}
	return tok, nil
}

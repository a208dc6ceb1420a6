package auth

import "errors"

// Code names why a token was refused; the values are the "code" field of
// POST /token/validate (SPEC §5.3).
type Code string

// Refusal codes.
const (
	CodeExpired              Code = "expired"
	CodeNotYetValid          Code = "not_yet_valid"
	CodeBadSignature         Code = "bad_signature"
	CodeUnknownKey           Code = "unknown_key"
	CodeMalformed            Code = "malformed"
	CodeUnsupportedAlgorithm Code = "unsupported_algorithm"
	CodeMissingExp           Code = "missing_exp"
)

// Error is every refusal of Verify, CallerVerifier.Verify and CheckBearer.
// Reason is a short sentence of our own; it never contains the token, a
// secret, or text copied from the token.
type Error struct {
	Code   Code
	Reason string
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	return "token refused: " + string(e.Code)
}

// CodeOf returns the Code of an *Error found in err's chain, or "" when
// there is none.
func CodeOf(err error) Code {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func refuse(code Code, reason string) *Error {
	return &Error{Code: code, Reason: reason}
}

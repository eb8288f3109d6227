package obstest

import (
	"encoding/json"
	"strings"
)

// Bucket policies, evaluated only to let anonymous requests through: a
// statement with Effect Allow, Principal "*" (or {"ID":["*"]} / {"AWS":"*"}),
// a matching Action (GetObject for GET/HEAD object, ListBucket for listings
// and HEAD bucket; "*" and the "s3:" prefix accepted) and a matching Resource
// ("bucket/key-pattern" with "*" wildcards, optionally "arn:aws:s3:::"
// prefixed). A matching Deny wins. Conditions are not supported (a statement
// with a Condition never matches).

type policyDoc struct {
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Effect    string          `json:"Effect"`
	Principal json.RawMessage `json:"Principal"`
	Action    stringList      `json:"Action"`
	Resource  stringList      `json:"Resource"`
	Condition json.RawMessage `json:"Condition"`
}

// stringList accepts a JSON string or a list of strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

// policyAllowsAnonymous evaluates doc for an anonymous action on resource
// ("bucket" or "bucket/key").
func policyAllowsAnonymous(doc []byte, action, resource string) bool {
	var p policyDoc
	if json.Unmarshal(doc, &p) != nil {
		return false
	}
	allowed := false
	for _, st := range p.Statement {
		if !st.matches(action, resource) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = allowed || st.Effect == "Allow"
	}
	return allowed
}

// matches reports whether the statement covers everyone, action and resource.
func (st policyStatement) matches(action, resource string) bool {
	if len(st.Condition) > 0 && string(st.Condition) != "null" || !anyPrincipal(st.Principal) {
		return false
	}
	actionOK := false
	for _, a := range st.Action {
		a = strings.TrimPrefix(a, "s3:")
		actionOK = actionOK || a == "*" || strings.EqualFold(a, action)
	}
	if !actionOK {
		return false
	}
	for _, r := range st.Resource {
		if wildcardMatch(strings.TrimPrefix(r, "arn:aws:s3:::"), resource) {
			return true
		}
	}
	return false
}

// anyPrincipal recognises "*", {"AWS":"*"} and {"ID":["*"]}.
func anyPrincipal(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == "*"
	}
	var m map[string]stringList
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for _, ids := range m {
		for _, id := range ids {
			if id == "*" {
				return true
			}
		}
	}
	return false
}

// wildcardMatch matches s against a pattern where "*" is any run of bytes.
func wildcardMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

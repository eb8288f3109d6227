package obstest

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
)

// CORS: a bucket's CORSConfiguration (bucket.go stores it) answers
// preflight OPTIONS requests (unauthenticated) and adds
// Access-Control-* headers to requests carrying an Origin header.

var errCORSForbidden = errf(http.StatusForbidden, "AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")

// corsRule is one parsed CORSRule.
type corsRule struct {
	Origins []string `xml:"AllowedOrigin"`
	Methods []string `xml:"AllowedMethod"`
	Headers []string `xml:"AllowedHeader"`
	Expose  []string `xml:"ExposeHeader"`
	MaxAge  string   `xml:"MaxAgeSeconds"`
}

// corsRules parses the bucket's stored configuration. Caller holds b.mu.
func (b *bucket) corsRules() []corsRule {
	var doc struct {
		Rules []corsRule `xml:"CORSRule"`
	}
	if xml.Unmarshal(b.configs["cors"], &doc) != nil {
		return nil
	}
	return doc.Rules
}

// match finds the first rule allowing origin, method and request headers.
func matchCORS(rules []corsRule, origin, method string, headers []string) *corsRule {
	for i, r := range rules {
		if anyWildcard(r.Origins, origin) && containsFold(r.Methods, method) && allHeadersAllowed(r.Headers, headers) {
			return &rules[i]
		}
	}
	return nil
}

func anyWildcard(patterns []string, s string) bool {
	for _, p := range patterns {
		if wildcardMatch(strings.ToLower(p), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func allHeadersAllowed(allowed, requested []string) bool {
	for _, h := range requested {
		if h = strings.TrimSpace(h); h != "" && !anyWildcard(allowed, h) {
			return false
		}
	}
	return true
}

// setCORSHeaders writes the Access-Control-* headers of a matched rule.
func setCORSHeaders(h http.Header, r *corsRule, origin string, reqHeaders []string) {
	allowOrigin := origin
	if len(r.Origins) == 1 && r.Origins[0] == "*" {
		allowOrigin = "*"
	}
	h.Set("Access-Control-Allow-Origin", allowOrigin)
	h.Set("Access-Control-Allow-Methods", strings.Join(r.Methods, ","))
	if len(reqHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ","))
	}
	if len(r.Expose) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(r.Expose, ","))
	}
	if n, err := strconv.Atoi(r.MaxAge); err == nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(n))
	}
	h.Add("Vary", "Origin")
}

// splitHeaderList splits Access-Control-Request-Headers.
func splitHeaderList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

// handlePreflight: OPTIONS /bucket[/key] (no authentication).
func handlePreflight(rc *reqCtx) error {
	origin := rc.r.Header.Get("Origin")
	method := rc.r.Header.Get("Access-Control-Request-Method")
	if origin == "" || method == "" {
		return invalidRequest("Insufficient information. Origin request header needed.")
	}
	reqHeaders := splitHeaderList(rc.r.Header.Get("Access-Control-Request-Headers"))
	rc.b.mu.RLock()
	rule := matchCORS(rc.b.corsRules(), origin, method, reqHeaders)
	rc.b.mu.RUnlock()
	if rule == nil {
		return errCORSForbidden
	}
	setCORSHeaders(rc.w.Header(), rule, origin, reqHeaders)
	return rc.noContent(http.StatusOK)
}

// applyCORS adds Access-Control-* headers to an actual request with Origin.
func (rc *reqCtx) applyCORS() {
	origin := rc.r.Header.Get("Origin")
	if origin == "" || rc.b == nil {
		return
	}
	rc.b.mu.RLock()
	rule := matchCORS(rc.b.corsRules(), origin, rc.r.Method, nil)
	rc.b.mu.RUnlock()
	if rule != nil {
		setCORSHeaders(rc.w.Header(), rule, origin, nil)
	}
}

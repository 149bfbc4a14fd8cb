package jwtauth

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/config"
)

// ReasonClaimRule is the denial of a token whose claims break one of the
// authorizer's claim rules (REST additionalClaims).
const ReasonClaimRule = "claim_rule"

// ClaimRule is one of a REST API JWT authorizer issuer's additionalClaims
// (format SINGLE_STRING, the only one AWS has). A present claim must be a
// JSON string and, when Values is not empty, equal one of them exactly
// (case-sensitive). An absent claim (or null) fails only a Required rule.
// These readings of AWS's unconfirmed details are ours (README).
type ClaimRule struct {
	Name     string
	Values   []string
	Required bool
}

// reservedRuleClaims are the claims AWS refuses as claimName: the
// authorizer checks them itself.
var reservedRuleClaims = []string{"iss", "aud", "exp", "nbf", "iat", "scope", "scp"}

// maxClaimRules bounds rules per issuer and values per rule. **(ours)**:
// AWS publishes no quota.
const maxClaimRules = 50

// claimRuleProblems checks rules, each problem at its field of the
// additional_claims list.
func claimRuleProblems(rules []ClaimRule) config.Problems {
	var ps config.Problems
	if len(rules) > maxClaimRules {
		ps.Addf("additional_claims", "at most %d additional_claims are allowed, got %d", maxClaimRules, len(rules))
	}
	for i, r := range rules {
		at := "additional_claims[" + strconv.Itoa(i) + "]"
		switch {
		case r.Name == "":
			ps.Addf(at+".name", "additional_claims[%d]: name is required", i)
		case slices.Contains(reservedRuleClaims, r.Name):
			ps.Addf(at+".name", "additional_claims[%d]: %q is checked by the authorizer itself and cannot be a claim rule (as on AWS: not %s)", i, r.Name, strings.Join(reservedRuleClaims, ", "))
		case !utf8.ValidString(r.Name):
			ps.Addf(at+".name", "additional_claims[%d]: the name is not valid UTF-8", i)
		}
		for j := range i {
			if rules[j].Name == r.Name && r.Name != "" {
				ps.Addf(at+".name", "additional_claims[%d]: claim %q has a rule already (additional_claims[%d])", i, r.Name, j)
			}
		}
		if len(r.Values) > maxClaimRules {
			ps.Addf(at+".values", "additional_claims[%d]: at most %d values are allowed", i, maxClaimRules)
		}
		for j, v := range r.Values {
			if v == "" {
				ps.Addf(at+".values["+strconv.Itoa(j)+"]", "additional_claims[%d].values[%d] is empty", i, j)
			}
		}
	}
	return ps
}

func cloneRules(rules []ClaimRule) []ClaimRule {
	out := make([]ClaimRule, len(rules))
	for i, r := range rules {
		out[i] = ClaimRule{Name: r.Name, Values: slices.Clone(r.Values), Required: r.Required}
	}
	return out
}

// checkRules applies the claim rules to the verified payload. With explain,
// why says what each rule found; it never holds a claim's value.
func (a *Authorizer) checkRules(src string, c *jsonScan, explain bool) (why string, _ *Denial) {
	var notes []string
	for i := range a.rules {
		r := &a.rules[i]
		raw := ""
		for m := range c.members() {
			if name, v := c.claimAt(src, m); name == r.Name {
				raw = v
				break
			}
		}
		var problem, note string
		switch {
		case raw == "" || raw == "null":
			if r.Required {
				problem = "the claim is required and absent"
			}
			note = "absent, not required"
		case !isJSONString(raw):
			problem = "the claim is not a string (format SINGLE_STRING)"
		case len(r.Values) > 0 && !r.matches(raw):
			problem = fmt.Sprintf("the claim's value is not one of the %d expected", len(r.Values))
		case len(r.Values) > 0:
			note = "an expected value"
		default:
			note = "present"
		}
		if problem != "" {
			return "", denyRule(fmt.Errorf("additional_claims[%d] (%s): %s", i, r.Name, problem))
		}
		if explain {
			notes = append(notes, fmt.Sprintf("additional_claims[%d] (%s): %s", i, r.Name, note))
		}
	}
	return strings.Join(notes, "; "), nil
}

// matches reports whether raw, a JSON string, is one of r's values.
func (r *ClaimRule) matches(raw string) bool {
	v, ok := jsonString(raw)
	return ok && slices.Contains(r.Values, v)
}

func denyRule(err error) *Denial {
	return &Denial{Reason: ReasonClaimRule, Description: "The token's claims are not accepted.", Err: err}
}

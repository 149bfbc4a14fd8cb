package gateway

import (
	"net/http"

	"github.com/portcullis/portcullis/internal/apigwevent"
)

// clientCertField answers $context.identity.clientCert.FIELD: the mutual
// TLS client certificate as AWS formats it, "" without a verified one.
func clientCertField(r *http.Request, field string) string {
	c := apigwevent.VerifiedClientCert(r.TLS)
	if c == nil {
		return ""
	}
	switch field {
	case "clientCertPem":
		return apigwevent.ClientCertPEM(c)
	case "subjectDN":
		return c.Subject.String()
	case "issuerDN":
		return c.Issuer.String()
	case "serialNumber":
		return apigwevent.SerialNumber(c)
	case "validity.notBefore":
		return apigwevent.FormatCertTime(c.NotBefore)
	case "validity.notAfter":
		return apigwevent.FormatCertTime(c.NotAfter)
	}
	return ""
}
